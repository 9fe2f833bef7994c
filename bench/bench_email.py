"""The email channel against a real Dovecot (IMAP) and aiosmtpd (SMTP) on this machine.

1. Backlog: N mails (default 2,000; distinct senders, a mix of Indonesian and English
   questions, some with quoted history) appended to the INBOX, then what `poll-email
   --once` does: fetch, parse, classify, record, queue, \\Seen, checkpoint, deliver by
   SMTP. Reported: mails/second until the last reply was accepted by the SMTP server.
   Target >= 100/s. Afterwards every mail must have exactly one reply.
2. IDLE latency: the IDLE loop running, ~20 mails appended one at a time; the time from
   APPEND to the reply reaching the SMTP server. Target: median < 2 s.

    .venv/bin/python bench/bench_email.py [N] [LATENCY_MAILS]
Needs /usr/sbin/dovecot (apt-get install dovecot-imapd).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.channels.email_intake import build_intake  # noqa: E402
from bot.config import settings_from_mapping  # noqa: E402
from tests.mail_servers import DovecotServer, SMTPServer  # noqa: E402

TEXTS = [
    "Halo kak, paket saya belum sampai, nomor pesanan INV-20261101-{n:04d}",
    "Apakah sepatu running ukuran 42 masih ada stoknya?",
    "Saya mau retur barang karena ukurannya salah kirim",
    "Pembayaran lewat transfer BCA sudah saya lakukan tapi status belum berubah",
    "Hi, when will my order INV-20261102-{n:04d} be shipped?",
    "Terima kasih, pelayanannya bagus sekali",
    "Jam buka CS hari Sabtu sampai jam berapa ya?",
    "Saya lupa password akun saya, bagaimana cara reset?\n\nPada Sen, 23 Nov 2026 pukul 10.00 CS Yessindo "
    "<ptyessindo@gmail.com> menulis:\n> Halo Kak, ada yang bisa kami bantu?\n\nDikirim dari iPhone saya",
]


def make_mail(n: int, tag: str) -> bytes:
    text = TEXTS[n % len(TEXTS)].format(n=n)
    return (f"From: Pelanggan {n} <pelanggan{n}.{tag}@example.com>\r\nTo: ptyessindo@gmail.com\r\n"
            f"Subject: Pertanyaan {n}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0700\r\n"
            f"Message-ID: <bench-{tag}-{n}@example.com>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
            ).encode()


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    latency_mails = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    dovecot, smtp = DovecotServer(), SMTPServer()
    dovecot.start()
    smtp.start()
    tmp = tempfile.mkdtemp(prefix="yessindo-bench-email-")
    try:
        settings = settings_from_mapping({"storage": {"database": f"{tmp}/bot.db"},
                                          "email": {**dovecot.settings_table(), **smtp.settings_table()}})
        c = dovecot.client()
        t0 = time.perf_counter()
        for i in range(n):
            c.append("INBOX", make_mail(i, "backlog"), flags=())
        c.logout()
        print(f"appended {n} mails to Dovecot in {time.perf_counter() - t0:.1f} s")

        intake = build_intake(settings)
        t0 = time.perf_counter()
        summary, sent = intake.run_once()
        smtp.wait_for(n, timeout=60)
        elapsed = time.perf_counter() - t0
        received = len(smtp.received)
        rcpts = [r.rcpt_tos[0] for r in smtp.received]
        rate = n / elapsed
        print(f"backlog: {summary.fetched} fetched, {summary.answered} answered, {sent.sent} replies sent, "
              f"{received} received by SMTP ({len(set(rcpts))} distinct recipients) in {elapsed:.2f} s: "
              f"{rate:.0f} mails/s (target >= 100) {'OK' if rate >= 100 and received == n else 'MISSED'}")
        intake.store.close()

        # IDLE latency.
        stop = threading.Event()
        loop = build_intake(settings)
        started = threading.Event()
        t = threading.Thread(target=loop.run_forever,
                             kwargs={"stop": stop, "idle_seconds": 300, "on_batch": lambda s: started.set()},
                             daemon=True)
        t.start()
        started.wait(10)
        time.sleep(0.5)
        c = dovecot.client()
        latencies = []
        for i in range(latency_mails):
            before = len(smtp.received)
            t1 = time.perf_counter()
            c.append("INBOX", make_mail(i, "idle"), flags=())
            while len(smtp.received) <= before and time.perf_counter() - t1 < 30:
                time.sleep(0.002)
            latencies.append(time.perf_counter() - t1)
            time.sleep(0.2)
        stop.set()
        c.append("INBOX", make_mail(10_000, "wake"), flags=())  # ends the IDLE so the loop sees `stop`
        c.logout()
        t.join(timeout=30)
        loop.store.close()
        med = statistics.median(latencies)
        print(f"IDLE latency (APPEND -> reply at the SMTP server) over {len(latencies)} mails: median {med * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms (target median < 2 s) {'OK' if med < 2 else 'MISSED'}")
        return 0 if rate >= 100 and received == n and med < 2 else 1
    finally:
        smtp.stop()
        dovecot.stop()


if __name__ == "__main__":
    sys.exit(main())
