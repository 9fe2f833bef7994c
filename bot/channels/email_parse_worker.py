"""Parsing a mail with a hard budget: in a child process with a time limit and RLIMIT_AS.

Why a child process and not the parser's own caps alone: the caps inside the parser
(depth, parts, output size) make known shapes cheap, but nothing inside one Python
process can stop an unknown one. A thread cannot be interrupted, SIGALRM only reaches
the main thread (and `serve` runs the intake in a thread), and memory cannot be
bounded per call. A child can be killed after `PARSE_SECONDS`, and its address space
is capped (`PARSE_MEMORY_MB`), so the worst a mail can do is fail its own parse: the
intake records that failure against the mail and goes on with the next one.

One child serves many mails (started once, restarted after a failure); a request is
`pickle((raw, kwargs))`, an answer `pickle(ParsedMail)`, each with an 8-byte length.

Test hook (with `YESSINDO_EMAIL_CRASH_AT`): `in_parse@MARK` kills the child while it
parses a mail containing MARK; `hang_parse@MARK` makes it never answer.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from bot.channels.email_parse import ParsedMail, parse_mail

PARSE_SECONDS = 20.0
PARSE_MEMORY_MB = 1024
CRASH_ENV = "YESSINDO_EMAIL_CRASH_AT"
_LEN = struct.Struct(">Q")
REPO = Path(__file__).resolve().parents[2]


class ParseFailed(Exception):
    """The parse of one mail did not finish within its budget (time, memory, a crash)."""


class WorkerUnavailable(Exception):
    """The parser process cannot be started here (no fault of any mail): parse in-process."""


READY = b"RDY\n"
START_SECONDS = 60.0


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        got = stream.read(left)
        if not got:
            raise EOFError
        chunks.append(got)
        left -= len(got)
    return b"".join(chunks)


class ParseWorker:
    """Parse mails in a child process; `parse` raises ParseFailed when the budget runs out."""

    def __init__(self, seconds: float = PARSE_SECONDS, memory_mb: int = PARSE_MEMORY_MB) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        """A child that has said it is ready; WorkerUnavailable when none can be had."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                                          if p)}
        try:
            proc = subprocess.Popen([sys.executable, "-m", "bot.channels.email_parse_worker", str(self.memory_mb)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=str(REPO))
        except OSError as exc:
            raise WorkerUnavailable(f"cannot start the parser process: {exc}") from None
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout.fileno()], [], [], START_SECONDS)
        if not ready or proc.stdout.read(len(READY)) != READY:
            self._proc = proc
            self._kill()
            raise WorkerUnavailable("the parser process did not start")
        return proc

    def parse(self, raw: bytes, **kwargs: Any) -> ParsedMail:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._start()
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        request = pickle.dumps((raw, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            proc.stdin.write(_LEN.pack(len(request)))
            proc.stdin.write(request)
            proc.stdin.flush()
            del request
            deadline = time.monotonic() + self.seconds
            fd = proc.stdout.fileno()
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ParseFailed(f"parse took longer than {self.seconds:.0f} s")
                ready, _, _ = select.select([fd], [], [], left)
                if ready:
                    break
            size = _LEN.unpack(_read_exact(proc.stdout, _LEN.size))[0]
            return pickle.loads(_read_exact(proc.stdout, size))
        except ParseFailed:
            self._kill()
            raise
        except (EOFError, OSError, pickle.UnpicklingError, struct.error) as exc:
            code = self._kill()
            if code is not None and code < 0:
                raise ParseFailed(f"parser process died (signal {-code}; memory limit {self.memory_mb} MB)") \
                    from None
            raise ParseFailed(f"parser process failed ({type(exc).__name__})") from None

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None
        finally:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream and stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # EOF: the child ends its loop
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _test_hook(raw: bytes) -> None:
    spec = os.environ.get(CRASH_ENV, "")
    step, _, mark = spec.partition("@")
    if not mark or mark.encode() not in raw:
        return
    if step == "in_parse":
        os.kill(os.getpid(), signal.SIGKILL)
    elif step == "hang_parse":
        while True:
            time.sleep(3600)


def _serve(memory_mb: int) -> None:
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C ends the parent, which closes our stdin
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(READY)
    stdout.flush()
    while True:
        try:
            size = _LEN.unpack(_read_exact(stdin, _LEN.size))[0]
        except EOFError:
            return
        raw, kwargs = pickle.loads(_read_exact(stdin, size))
        _test_hook(raw)
        try:
            mail = parse_mail(raw, **kwargs)
        except MemoryError:
            os._exit(3)  # the parent reports the failure of this mail
        del raw
        answer = pickle.dumps(mail, protocol=pickle.HIGHEST_PROTOCOL)
        del mail
        stdout.write(_LEN.pack(len(answer)))
        stdout.write(answer)
        stdout.flush()


if __name__ == "__main__":
    from bot.logsafe import install

    install()  # this child's warnings and tracebacks reach stderr masked, like every process (H4)
    _serve(int(sys.argv[1]) if len(sys.argv) > 1 else PARSE_MEMORY_MB)
