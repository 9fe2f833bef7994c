"""Cost of secret masking (every stored message) and of log masking (every log record).

Prints microseconds per call for typical messages and log lines, and the time for the
worst inputs we know (a WhatsApp-sized message and a 200 KB mail made of keywords), to
show the cost stays linear. Run: .venv/bin/python bench/bench_masking.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.logsafe import mask  # noqa: E402
from bot.masking import mask_secrets  # noqa: E402

MESSAGES = [
    "Halo kak, pesanan saya INV-20261125-0456 belum sampai, wa saya 081234567890",
    "kode OTP saya 482913 kok ga bisa login ya kak",
    "passwordnya rahasiabanget, tolong cek akun saya",
    "pin bros 3 biji harga Rp 15.000 ada?",
]
LOG_LINES = [
    "whatsapp in from +62812****7890 sid=SM0123456789abcdef0123456789abcdef: 57 chars intent=order_status",
    "outbox: 3 sent, 0 reconciled, 0 retried, 0 failed, 0 refused",
    "GET Request: https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=whatsapp%3A%2B6281234567890",
]


def per_call(fn, items: list[str], rounds: int = 3000) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            fn(item)
    return (time.perf_counter() - t0) / (rounds * len(items)) * 1e6


def once(fn, text: str) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(text)
    return (time.perf_counter() - t0) * 1e3


def main() -> None:
    print(f"mask_secrets, typical message: {per_call(mask_secrets, MESSAGES):.1f} us")
    print(f"log mask, typical log line:    {per_call(mask, LOG_LINES):.1f} us")
    for label, text in [("4,096-char WhatsApp message of 'otp '", "otp " * 1024),
                        ("200 KB mail of 'otp '", "otp " * 50_000),
                        ("400 KB mail of 'otp '", "otp " * 100_000),
                        ("200 KB mail of digit groups", "4111 " * 40_000)]:
        print(f"mask_secrets, {label}: {once(mask_secrets, text):.0f} ms")


if __name__ == "__main__":
    main()
