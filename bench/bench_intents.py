"""Intent matcher benchmark: accuracy on the labelled sets, load time, throughput, latency.

Run: .venv/bin/python bench/bench_intents.py [--calls N] [--cold]
Targets: >= 5,000 msg/s on one core, p99 < 2 ms, matcher load < 1 s (a trained model from
the cache). `--cold` also times training from scratch (once per change of the data).
The dev set (../shared/eval/intents_dev.tsv) is scored when it is beside the repository.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.intents import IntentMatcher, evaluate_file  # noqa: E402

DEV_SET = REPO.parent / "shared" / "eval" / "intents_dev.tsv"
OWN_HOLDOUT = REPO / "tests" / "data" / "intents_own_holdout.tsv"

# A realistic mix: short WhatsApp pings, slang questions, emails, English, junk.
MIX = [
    "p",
    "halo kak",
    "paket sy udh dikirim blm ya kak",
    "pesanan INV-20261102-0042 kok belum sampai2 😭",
    "stok sepatu putih ukuran 42 masih ready?",
    "mau refund dong barangnya rusak",
    "udah tf tp status msh menunggu pembayaran",
    "ga bisa login, otp ga masuk2",
    "makasih kak 🙏",
    "jam buka cs sampai jam berapa?",
    "nomor wa resmi yessindo brp",
    "saya mau bicara dengan supervisor, masalah belum selesai",
    "is this a bot? i want a real person",
    "where is my order? it's been a week",
    "cuaca hari ini gimana",
    "Subject: Pesanan belum diterima\n\nDengan hormat,\nSaya memesan tas pada tanggal 2 November "
    "(INV-20261102-0042) dan sampai hari ini belum diterima. Nomor resi tidak bisa dilacak.\n"
    "Mohon bantuannya.\n\nTerima kasih,\nRina",
    "PELAYANANNYA MANTAP BANGET KAK, PACKING RAPI",
    "asdkjh qwe",
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--cold", action="store_true", help="also time training from scratch")
    args = ap.parse_args()

    if args.cold:
        import tempfile

        t0 = time.perf_counter()
        IntentMatcher.load(cache_directory=Path(tempfile.mkdtemp()))
        print(f"cold start (training, no cached model): {time.perf_counter() - t0:.1f} s")
    IntentMatcher.load()  # make sure the cache holds the model
    t0 = time.perf_counter()
    m = IntentMatcher.load()
    load_ms = (time.perf_counter() - t0) * 1000
    print(f"load time (cached model): {load_ms:.1f} ms")

    for name, path in (("dev set", DEV_SET), ("own holdout", OWN_HOLDOUT)):
        if path.exists():
            rep = evaluate_file(m, path)
            print(f"{name} accuracy: {rep.accuracy * 100:.1f} % ({rep.correct}/{rep.total})")
            for exp, got, msg in rep.confusions:
                print(f"    {exp} -> {got}: {msg[:90]}")
        else:
            print(f"{name}: {path} not found")

    # Throughput / latency over a realistic mix (with some unseen variants so the
    # typo cache does not make it look better than it is).
    rnd = random.Random(7)
    msgs = []
    for i in range(args.calls):
        base = rnd.choice(MIX)
        if i % 5 == 0:
            base = f"{base} {rnd.randint(10, 99999)}"
        msgs.append(base)
    for s in msgs[:500]:  # warm-up
        m.match(s)
    lat = []
    pc = time.perf_counter
    t_start = pc()
    for s in msgs:
        t = pc()
        m.match(s)
        lat.append(pc() - t)
    total = pc() - t_start
    lat.sort()
    p50 = lat[len(lat) // 2] * 1000
    p99 = lat[int(len(lat) * 0.99)] * 1000
    print(f"classify: {len(msgs)} calls in {total:.2f} s = {len(msgs) / total:,.0f} msg/s (one core)")
    print(f"latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {lat[-1] * 1000:.3f} ms, mean {statistics.mean(lat) * 1000:.3f} ms")

    t = pc()
    m.match("z" * 100_000 + " paket belum sampai")
    print(f"100 KB message: {(pc() - t) * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
