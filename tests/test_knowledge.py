"""Knowledge files: the policy's facts are there, and mistakes are caught at load."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.knowledge import REPLY_KEYS, load_knowledge

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"


def test_official_facts_from_the_policy():
    k = load_knowledge(KNOWLEDGE)
    assert k.shop.whatsapp_e164 == "+6282129666065"
    assert k.shop.email == "ptyessindo@gmail.com"
    assert (k.shop.wa_min_minutes, k.shop.wa_max_minutes) == (5, 15)
    assert (k.shop.email_min_hours, k.shop.email_max_hours) == (1, 2)
    assert k.shop.complex_working_days == 2 and k.shop.review_working_days == 2
    assert k.shop.social_media == ()  # the policy lists none: never invented
    assert len(k.menu("id")) == len(k.menu("en")) == 6
    assert set(k.texts["id"]) == set(k.texts["en"])
    assert {key for key in k.texts["id"] if not key[-2:-1] == "_" or not key[-1].isdigit()} == set(REPLY_KEYS)


def copy_knowledge(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, target)
    return target


@pytest.mark.parametrize("file,old,new,key", [
    ("replies.toml", "{shop} support hours", "{shopp} support hours", "en.hours"),
    ("replies.toml", 'thanks = "You\'re welcome', 'thanx = "You\'re welcome', "en.thanks"),
    ("shop.toml", 'email = "ptyessindo@gmail.com"', 'email = "ptyessindo"', "channels.email"),
    ("shop.toml", "whatsapp_max_minutes = 15", 'whatsapp_max_minutes = "15"', "promises.whatsapp_max_minutes"),
    ("shop.toml", 'whatsapp_e164 = "+6282129666065"', "", "channels.whatsapp_e164"),
])
def test_bad_knowledge_names_file_and_key(tmp_path, file, old, new, key):
    d = copy_knowledge(tmp_path)
    path = d / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_knowledge(d)
    assert err.value.source == str(path)
    assert err.value.key == key


def test_missing_english_text(tmp_path):
    d = copy_knowledge(tmp_path)
    path = d / "replies.toml"
    lines = [l for l in path.read_text().splitlines()]
    en_start = lines.index("[en]")
    lines = lines[:en_start] + [l for l in lines[en_start:] if not l.startswith("privacy =")]
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError) as err:
        load_knowledge(d)
    assert err.value.key == "en.privacy"


def test_configured_social_media_is_listed(tmp_path, settings):
    from bot.business_hours import BusinessCalendar
    from bot.responder import Responder

    d = copy_knowledge(tmp_path)
    path = d / "shop.toml"
    path.write_text(path.read_text().replace(
        "social_media = []", 'social_media = [{ name = "Instagram", handle = "@yessindo.id" }]'))
    r = Responder(load_knowledge(d), BusinessCalendar(settings.hours))
    assert "Instagram: @yessindo.id" in r.render("id", "contact")
