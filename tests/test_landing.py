"""`/`: a polite landing page (Indonesian, with English) linking the console, and the
simulator only when it is on; never a bare English 404."""
from __future__ import annotations

from bot.app import create_app
from bot.config import settings_from_mapping


def _get(tmp_path, simulator: bool):  # type: ignore[no-untyped-def]
    settings = settings_from_mapping({"storage": {"database": str(tmp_path / "bot.db")},
                                      "dev": {"simulator": simulator}})
    return create_app(settings).test_client().get("/")


def test_landing_links_console_and_simulator(tmp_path):
    r = _get(tmp_path, simulator=True)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert 'href="/console"' in page and 'href="/try"' in page
    assert "Kak" in page and "Hello" in page  # Indonesian first, English too
    assert '<html lang="id">' in page
    assert "+6282129666065" in page and "ptyessindo@gmail.com" in page  # the official channels, for customers


def test_landing_hides_simulator_when_off(tmp_path):
    r = _get(tmp_path, simulator=False)
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'href="/console"' in page and "/try" not in page
