"""Real-world mails end to end: the mail corpus and our own hostile mails through `poll-email --once`.

Every mail of `../shared/eval/mail-corpus/` (labels.tsv: auto|human|unknown) and of
`tests/data/mail/hostile/` is APPENDed byte-exact into a real Dovecot INBOX; then
`yessindo-bot poll-email --once` runs twice, as a subprocess, with a config pointing at
that Dovecot and at an aiosmtpd server that records every reply. Reported per set and
in total:

- crashes: a run that exits non-zero or prints a traceback;
- mails processed (recorded in `email_inbox`, or marked \\Seen) against mails present;
- automatic answers to `auto` mails (the files are listed), `human` mails answered;
- mails answered twice (replies counted per Message-ID, via the reply's In-Reply-To);
- the time each run took.

    .venv/bin/python bench/bench_mail_corpus.py [--corpus DIR] [--hostile DIR] [--keep]

Needs /usr/sbin/dovecot (apt-get install dovecot-imapd). When ../shared is absent the
corpus part is skipped and says so; the hostile set still runs. Exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.mail_servers import DovecotServer, SMTPServer  # noqa: E402

CORPUS = REPO.parent / "shared" / "eval" / "mail-corpus"
HOSTILE = REPO / "tests" / "data" / "mail" / "hostile"
_MSGID = re.compile(r"<[^<>\s]+>")
RUN_TIMEOUT = 1800  # seconds per run: a stall shows as a timeout, not a hung bench


@dataclass
class Mail:
    set: str      # "corpus" or "hostile"
    file: str
    label: str    # auto | human | unknown | hostile
    raw: bytes
    message_id: str
    uid: int = 0


@dataclass
class RunResult:
    rc: int
    seconds: float
    stdout: str
    stderr: str
    replies_after: int
    crashed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.crashed = self.rc != 0 or "Traceback (most recent call last)" in self.stderr


def message_id_of(raw: bytes) -> str:
    """The Message-ID the bot will use: the header's first <id>, else its synthetic one."""
    from bot.channels import email_parse

    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw.lstrip())
        value = headers.get("message-id")
    except Exception:  # noqa: BLE001 - hostile mails
        value = None
    first = getattr(email_parse, "_first_id", None)
    if value is not None:
        found = first(str(value)) if first else (_MSGID.search(str(value)) or [None])[0]
        if found:
            return str(found)
    synthetic = getattr(email_parse, "_synthetic_id", None)
    return synthetic(raw) if synthetic else ""


def load(corpus: Path, hostile: Path) -> tuple[list[Mail], list[str]]:
    mails: list[Mail] = []
    notes: list[str] = []
    labels_file = corpus / "labels.tsv"
    if labels_file.is_file():
        for line in labels_file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            name, label = line.split("\t")[:2]
            path = corpus / name
            if path.is_file():
                raw = path.read_bytes()
                mails.append(Mail("corpus", name, label, raw, message_id_of(raw)))
            else:
                notes.append(f"corpus: {name} listed in labels.tsv but missing")
    else:
        notes.append(f"corpus ABSENT: {corpus} (or its labels.tsv) not found; the mail-corpus part is NOT measured")
    if hostile.is_dir():
        files = sorted(p for p in hostile.rglob("*") if p.is_file() and p.suffix in (".eml", ".msg", ".txt", ""))
        hostile_labels = _hostile_labels(hostile)
        for path in files:
            if path.name.lower() in ("readme", "readme.md", "labels.tsv"):
                continue
            raw = path.read_bytes()
            name = str(path.relative_to(hostile))
            mails.append(Mail("hostile", name, hostile_labels.get(name, "hostile"), raw, message_id_of(raw)))
    else:
        notes.append(f"hostile set absent: {hostile}")
    return mails, notes


def _hostile_labels(folder: Path) -> dict[str, str]:
    f = folder / "labels.tsv"
    if not f.is_file():
        return {}
    out = {}
    for line in f.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            out[parts[0]] = parts[1]
    return out


def write_config(tmp: Path, dovecot: DovecotServer, smtp: SMTPServer) -> Path:
    table = {**dovecot.settings_table(), **smtp.settings_table()}
    lines = ["[storage]", f'database = "{tmp / "bot.db"}"', "", "[email]"]
    for key, value in table.items():
        lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else repr(value) if isinstance(value, int) else _toml_str(value)}")
    path = tmp / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def _toml_str(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_poll(config: Path, smtp: SMTPServer) -> RunResult:
    env = {**os.environ, "YESSINDO_CACHE_DIR": os.environ.get("YESSINDO_CACHE_DIR", str(REPO / ".cache"))}
    env.pop("YESSINDO_CONFIG", None)
    exe = shutil.which("yessindo-bot", path=str(REPO / ".venv" / "bin")) or "yessindo-bot"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([exe, "poll-email", "--once", "--config", str(config)], env=env, cwd=config.parent,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = -9, str(exc.stdout or ""), f"TIMEOUT after {RUN_TIMEOUT} s\n{exc.stderr or ''}"
    seconds = time.perf_counter() - t0
    time.sleep(0.5)  # the last DATA may still be in aiosmtpd's queue
    return RunResult(rc, seconds, out, err, len(smtp.received))


@dataclass
class Outcome:
    """What the bot did, read back from its database and the SMTP server."""
    inbox: dict[int, tuple[str, str, str | None]]   # uid -> (message_id, status, reason) for the mail handled
    uid_state: dict[int, str]                        # uid -> status (done, quarantined...), when kept
    replies: collections.Counter[int]                # uid -> replies received by SMTP
    replies_per_id: collections.Counter[str]         # In-Reply-To -> replies
    unattributed: int


def read_outcome(db: Path, smtp: SMTPServer) -> Outcome:
    inbox: dict[int, tuple[str, str, str | None]] = {}
    uid_state: dict[int, str] = {}
    by_outbox: dict[int, int] = {}
    by_mid: dict[str, int] = {}
    reply_outbox: dict[str, int] = {}
    if db.exists():
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for mid, uid, status, reason, outbox_id in conn.execute(
                    "SELECT message_id, uid, status, reason, outbox_id FROM email_inbox"):
                inbox[int(uid)] = (mid, status, reason)
                by_mid[mid] = int(uid)
                if outbox_id is not None:
                    by_outbox[int(outbox_id)] = int(uid)
            for query, target in (("SELECT uid, status FROM email_uid_state", uid_state),
                                  ("SELECT message_id, outbox_id FROM email_outbound", reply_outbox)):
                try:
                    target.update(conn.execute(query).fetchall())
                except sqlite3.Error:
                    pass  # an older schema: fewer details
        finally:
            conn.close()
    replies: collections.Counter[int] = collections.Counter()
    per_id: collections.Counter[str] = collections.Counter()
    unattributed = 0
    for rec in list(smtp.received):
        head = BytesHeaderParser(policy=compat32).parsebytes(rec.data)
        own = _MSGID.search(str(head.get("message-id") or ""))
        irt = _MSGID.search(str(head.get("in-reply-to") or ""))
        if irt:
            per_id[irt.group(0)] += 1
        uid = by_outbox.get(reply_outbox.get(own.group(0), -1)) if own else None
        if uid is None and irt:
            uid = by_mid.get(irt.group(0))
        if uid is None:
            unattributed += 1
        else:
            replies[uid] += 1
    return Outcome(inbox, uid_state, replies, per_id, unattributed)


def report(mails: list[Mail], runs: list[RunResult], out: Outcome, seen: int, present: int, received: int) -> bool:
    ok = True
    for i, r in enumerate(runs, 1):
        tail = (r.stderr.strip().splitlines() or [""])[-1][:200]
        print(f"run {i}: exit {r.rc}, {r.seconds:.1f} s, replies at the SMTP server so far {r.replies_after}"
              + (" CRASH" if r.crashed else "") + (f"\n  stderr tail: {tail}" if r.crashed else ""))
        print(f"  poll-email says: {r.stdout.strip().splitlines()[-1] if r.stdout.strip() else '(nothing)'}")
        ok &= not r.crashed
    print(f"IMAP: {present} mails in the INBOX, {seen} marked \\Seen; {len(out.inbox)} mails recorded in email_inbox; "
          f"{received} replies received by SMTP ({out.unattributed} not traced to a mail)")
    ok &= out.unattributed == 0
    handled_ids = {v[0] for v in out.inbox.values()}
    for name in ("corpus", "hostile"):
        group = [m for m in mails if m.set == name]
        if not group:
            continue
        processed = [m for m in group if m.uid in out.inbox or out.uid_state.get(m.uid) in ("done", "quarantined")]
        print(f"\n[{name}] {len(group)} mails present, {len(processed)} processed, "
              f"{sum(1 for m in group if m.uid in out.inbox)} recorded (the others share a Message-ID with one that is)")
        for m in group:
            if m not in processed:
                print(f"    NOT PROCESSED: {m.file} (uid state: {out.uid_state.get(m.uid, 'none')})")
        ok &= len(processed) == len(group)
        by_label = collections.defaultdict(list)
        for m in group:
            by_label[m.label].append(m)
        for label, items in sorted(by_label.items()):
            answered = [m for m in items if out.replies.get(m.uid)]
            twins = [m for m in items if not out.replies.get(m.uid) and m.uid not in out.inbox
                     and out.replies_per_id.get(m.message_id)]
            print(f"  {label:8s} {len(items):4d} mails, {len(answered):4d} answered"
                  + (f" (+{len(twins)} not handled themselves: their Message-ID was handled and answered once)"
                     if twins and label != "auto" else ""))
            if label == "auto":
                ok &= not answered
                for m in answered:
                    print(f"    AUTO ANSWERED: {m.file}")
                for m in items:
                    if m.uid not in out.inbox and m.message_id in handled_ids and out.replies_per_id.get(m.message_id):
                        print(f"    (not handled itself: shares its Message-ID with an answered mail: {m.file})")
            elif label in ("human", "hostile"):
                for m in items:
                    if m.uid in out.inbox and not out.replies.get(m.uid):
                        _, status, reason = out.inbox[m.uid]
                        print(f"    {label} not answered: {m.file} ({status}: {reason})")
        dup = [m.file for m in group if out.replies.get(m.uid, 0) > 1]
        dup += [m.file for m in group if m.uid in out.inbox and out.replies_per_id.get(out.inbox[m.uid][0], 0) > 1
                and out.replies.get(m.uid, 0) <= 1]
        print(f"  answered twice: {len(dup)}" + (": " + ", ".join(dup[:20]) if dup else ""))
        ok &= not dup
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--hostile", type=Path, default=HOSTILE)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (database, config)")
    args = ap.parse_args()
    mails, notes = load(args.corpus, args.hostile)
    for n in notes:
        print(n)
    if not mails:
        print("nothing to measure")
        return 1
    dovecot, smtp = DovecotServer(), SMTPServer()
    dovecot.start()
    smtp.start()
    tmp = Path(tempfile.mkdtemp(prefix="yessindo-bench-corpus-"))
    try:
        c = dovecot.client()
        t0 = time.perf_counter()
        appended = []
        for m in mails:
            try:
                c.append("INBOX", m.raw, flags=())
                appended.append(m)
            except Exception as exc:  # noqa: BLE001 - e.g. Dovecot refuses a zero-byte mail
                print(f"not appendable, left out: {m.set}/{m.file}: {exc}")
        mails = appended
        c.select_folder("INBOX", readonly=True)
        uids = sorted(c.search(["ALL"]))
        c.logout()
        if len(uids) != len(mails):
            print(f"APPEND gave {len(uids)} mails for {len(mails)} files")
            return 1
        for m, uid in zip(mails, uids):  # an empty mailbox: UIDs in APPEND order
            m.uid = uid
        print(f"appended {len(mails)} mails ({sum(len(m.raw) for m in mails) / 1e6:.1f} MB) byte-exact in "
              f"{time.perf_counter() - t0:.1f} s")
        config = write_config(tmp, dovecot, smtp)
        runs = [run_poll(config, smtp), run_poll(config, smtp)]
        for i, r in enumerate(runs, 1):
            (tmp / f"run{i}.stderr").write_text(r.stderr)
            (tmp / f"run{i}.stdout").write_text(r.stdout)
        flags = dovecot.flags()
        seen = sum(1 for f in flags.values() if b"\\Seen" in f)
        ok = report(mails, runs, read_outcome(tmp / "bot.db", smtp), seen, len(flags), len(smtp.received))
        print("\nRESULT: " + ("OK" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        smtp.stop()
        dovecot.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
