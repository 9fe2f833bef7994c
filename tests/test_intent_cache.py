"""The trained model's cache (bot/intents/cache.py): private files, reused only for the
exact data it was trained from, retrained when the data changes, never a pickle."""
from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from bot.intents import IntentMatcher
from bot.intents.model import LinearModel
from bot.models import INTENTS

PHRASES = {
    "product": ["stok ada?", "ready kak?", "ukuran 42 ada", "warna hitam ready"],
    "order_status": ["paket belum sampai", "resi mana", "kapan dikirim", "pesanan saya dimana"],
    "return_refund": ["barang rusak", "mau refund", "minta retur", "salah kirim"],
    "payment": ["sudah transfer", "bayar pakai apa", "pembayaran gagal", "bisa cod?"],
    "account": ["lupa password", "tidak bisa login", "otp tidak masuk", "ganti email akun"],
    "feedback": ["pelayanan lambat", "adminnya ramah", "saran tambah kurir", "kecewa sekali"],
    "greeting": ["halo", "pagi kak", "permisi", "assalamualaikum"],
    "hours": ["jam buka", "buka hari minggu?", "tutup jam berapa", "jam operasional"],
    "contact": ["nomor wa resmi", "email cs", "alamat kantor", "instagram resmi"],
    "escalation": ["minta supervisor", "saya mau eskalasi", "panggil atasan", "manager dong"],
    "human": ["mau bicara dengan manusia", "ini bot ya", "sambungkan ke cs", "operator dong"],
    "thanks": ["makasih", "terima kasih", "thanks kak", "oke makasih"],
    "unknown": ["cuaca hari ini", "setel alarm", "mainkan lagu", "jam berapa di london"],
}


def small_data(root: Path) -> Path:
    d = root / "intents"
    (d / "phrases" / "order_status").mkdir(parents=True)
    (d / "phrases" / "payment").mkdir(parents=True)
    for label in INTENTS:
        lines = ", ".join(f'"{p}"' for p in PHRASES[label])
        (d / f"{label}.toml").write_text(f"phrases = [{lines}]\n", encoding="utf-8")
    (d / "phrases" / "order_status" / "cancel_order.txt").write_text(
        "batalkan pesanan\ncancel order saya\ngak jadi beli batalin\n", encoding="utf-8")
    (d / "phrases" / "order_status" / "order_tracking.txt").write_text(
        "paket dimana\nbelum sampai juga\nstatus pesanan\n", encoding="utf-8")
    (d / "phrases" / "payment" / "cod.txt").write_text("bisa cod\nbayar di tempat\ncod ke medan\n", encoding="utf-8")
    (d / "phrases" / "payment" / "payment_failed.txt").write_text(
        "pembayaran gagal\nkartu ditolak\nva expired\n", encoding="utf-8")
    return d


def test_model_is_cached_privately_and_reused_for_the_same_data(tmp_path):
    data, cache = small_data(tmp_path), tmp_path / "cache"
    first = IntentMatcher.load(data, cache_directory=cache)
    [file] = list(cache.glob("intent-model-*.npz"))
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    mtime = file.stat().st_mtime_ns
    second = IntentMatcher.load(data, cache_directory=cache)
    assert file.stat().st_mtime_ns == mtime  # loaded, not trained again
    assert second.match("batalkan pesanan saya").intent == first.match("batalkan pesanan saya").intent
    assert np.array_equal(second.model.intent.weights, first.model.intent.weights)


def test_changed_data_trains_a_new_model(tmp_path):
    data, cache = small_data(tmp_path), tmp_path / "cache"
    IntentMatcher.load(data, cache_directory=cache)
    with (data / "phrases" / "payment" / "cod.txt").open("a", encoding="utf-8") as fh:
        fh.write("cod bisa ke surabaya\n")
    IntentMatcher.load(data, cache_directory=cache)
    assert len(list(cache.glob("intent-model-*.npz"))) == 2


def test_a_foreign_or_broken_cache_file_is_never_used(tmp_path):
    data, cache = small_data(tmp_path), tmp_path / "cache"
    m = IntentMatcher.load(data, cache_directory=cache)
    [file] = list(cache.glob("intent-model-*.npz"))
    assert LinearModel.load(file, "another key") is None
    file.write_bytes(b"not a model")
    again = IntentMatcher.load(data, cache_directory=cache)  # trains anew, answers the same
    assert again.match("lupa password").intent == m.match("lupa password").intent


def test_no_writable_cache_folder_still_gives_a_working_matcher(tmp_path, monkeypatch):
    from bot.intents import cache as cache_mod

    monkeypatch.setattr(cache_mod, "cache_dir", lambda: None)
    data = small_data(tmp_path)
    assert IntentMatcher.load(data).match("lupa password").intent == "account"
