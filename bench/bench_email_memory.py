"""Peak memory of `poll-email --once` over 200 Gmail-sized mails, some with large attachments.

A real Dovecot (IMAP) and aiosmtpd (SMTP) on 127.0.0.1 (tests/mail_servers.py). The
mails: a Gmail-style multipart/alternative (text + HTML, quoted history) from distinct
senders; every 10th carries a 6 MB attachment, every 10th (offset 5) a 4 MB one. Then
`yessindo-bot poll-email --once` runs in a subprocess and the peak RSS of it and its
children (the parser process) is read with getrusage(RUSAGE_CHILDREN).ru_maxrss.
Target: peak under 300 MB, every mail handled, one answer each.

    .venv/bin/python bench/bench_email_memory.py [N] [--repo PATH]

--repo runs the poll-email of another checkout (e.g. an older commit in a git worktree)
against the same mails, for a before/after figure. Needs /usr/sbin/dovecot.
"""
from __future__ import annotations

import argparse
import base64
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.mail_servers import DovecotServer, SMTPServer, write_config  # noqa: E402

QUOTE = "".join(f"> Baris riwayat percakapan sebelumnya nomor {i}, tentang pesanan dan pengiriman.\r\n"
                for i in range(120))


def make_mail(n: int) -> bytes:
    boundary, outer = f"alt-{n}", f"mix-{n}"
    text = (f"Halo kak, pesanan INV-20261101-{n:04d} belum sampai, mohon dicek ya.\r\n\r\n"
            f"Pada Sen, 23 Nov 2026 pukul 10.00 Yessindo <ptyessindo@gmail.com> menulis:\r\n{QUOTE}")
    html = ("<div dir=\"ltr\"><div>Halo kak, pesanan belum sampai, mohon dicek ya.</div>"
            + "".join(f"<blockquote class=\"gmail_quote\"><div>Riwayat {i}</div></blockquote>" for i in range(150))
            + "</div>")
    alt = (f"Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
           f"--{boundary}\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{text}\r\n"
           f"--{boundary}\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n{html}\r\n--{boundary}--\r\n")
    head = (f"From: Pelanggan {n} <pelanggan{n}@example.com>\r\nTo: ptyessindo@gmail.com\r\n"
            f"Subject: Pesanan {n}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0700\r\n"
            f"Message-ID: <mem-{n}@mail.gmail.com>\r\nMIME-Version: 1.0\r\n")
    size = 6 * 1024 * 1024 if n % 10 == 0 else 4 * 1024 * 1024 if n % 10 == 5 else 0
    if not size:
        return (head + alt).encode()
    payload = base64.encodebytes(os.urandom(size)).replace(b"\n", b"\r\n")
    return ((head + f"Content-Type: multipart/mixed; boundary=\"{outer}\"\r\n\r\n--{outer}\r\n" + alt
             + f"--{outer}\r\nContent-Type: image/jpeg; name=\"foto{n}.jpg\"\r\n"
             f"Content-Disposition: attachment; filename=\"foto{n}.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             ).encode() + payload + f"\r\n--{outer}--\r\n".encode())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--repo", default=str(REPO), help="checkout whose poll-email runs (default: this one)")
    args = ap.parse_args()
    repo = Path(args.repo).resolve()
    dovecot, smtp = DovecotServer(), SMTPServer()
    dovecot.start()
    smtp.start()
    tmp = Path(tempfile.mkdtemp(prefix="yessindo-bench-mem-"))
    try:
        config = write_config(tmp, {**dovecot.settings_table(), **smtp.settings_table()})
        c = dovecot.client()
        t0 = time.perf_counter()
        total = 0
        for i in range(args.n):
            raw = make_mail(i)
            total += len(raw)
            c.append("INBOX", raw, flags=())
            del raw
        c.logout()
        print(f"appended {args.n} mails ({total / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if k != "YESSINDO_EMAIL_CRASH_AT"}
        done = subprocess.run([sys.executable, "-m", "bot.cli", "poll-email", "--once", "--config", str(config)],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=1800)
        elapsed = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"poll-email --once ({repo}): exit {done.returncode} in {elapsed:.1f} s; {done.stdout.strip()}")
        if done.returncode != 0:
            print(done.stderr[-2000:])
        smtp.wait_for(args.n, timeout=60)
        db = sqlite3.connect(tmp / "bot.db")
        handled = db.execute("SELECT count(*) FROM messages WHERE direction = 'in' AND channel = 'email'").fetchone()[0]
        rcpts = [r.rcpt_tos[0] for r in smtp.received]
        print(f"mails recorded: {handled}/{args.n}; replies received by SMTP: {len(rcpts)} "
              f"({len(set(rcpts))} distinct recipients)")
        ok = peak_mb < 300 and handled == args.n and len(rcpts) == len(set(rcpts)) == args.n
        print(f"peak RSS of poll-email and its children: {peak_mb:.0f} MB (before it ran: {before / 1024:.0f} MB; "
              f"target < 300 MB) {'OK' if ok else 'MISSED'}")
        return 0 if ok else 1
    finally:
        smtp.stop()
        dovecot.stop()


if __name__ == "__main__":
    sys.exit(main())
