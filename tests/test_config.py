"""Settings: lookup order, environment overrides, and one clear line for every mistake."""
from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import _SCHEMA, load_settings, settings_from_mapping
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_embedded_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YESSINDO_CONFIG", raising=False)
    s = load_settings(None, environ={})
    assert s.source == "<embedded defaults>"
    assert s.simulator is True
    assert s.whatsapp.from_number == "whatsapp:+6282129666065"
    assert s.email.address == "ptyessindo@gmail.com"
    assert s.hours.timezone == "Asia/Jakarta"


def test_lookup_order(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[storage]\ndatabase = "local.db"\n')
    (tmp_path / "env.toml").write_text('[storage]\ndatabase = "env.db"\n')
    (tmp_path / "flag.toml").write_text('[storage]\ndatabase = "flag.db"\n')
    monkeypatch.delenv("YESSINDO_CONFIG", raising=False)
    assert load_settings(None, environ={}).database == "local.db"
    monkeypatch.setenv("YESSINDO_CONFIG", str(tmp_path / "env.toml"))
    assert load_settings(None, environ={}).database == "env.db"
    assert load_settings(str(tmp_path / "flag.toml"), environ={}).database == "flag.db"


def test_environment_wins_over_file():
    env = {"TWILIO_ACCOUNT_SID": "ACenv", "TWILIO_AUTH_TOKEN": "tok", "YESSINDO_DATABASE": "/tmp/x.db",
           "YESSINDO_EMAIL_PASSWORD": "app-pass", "YESSINDO_SECRET_KEY": "sek"}
    s = settings_from_mapping({"whatsapp": {"account_sid": "ACfile"}, "storage": {"database": "f.db"}}, "f", env)
    assert s.whatsapp.account_sid == "ACenv" and s.whatsapp.auth_token == "tok"
    assert s.database == "/tmp/x.db"
    assert s.email.imap_password == s.email.smtp_password == "app-pass"
    assert s.secret_key == "sek"


def test_example_config_is_valid_and_simulator_off():
    s = load_settings(str(REPO / "config.example.toml"), environ={})
    assert s.simulator is False


def test_every_setting_is_documented_in_the_example():
    """Each key the loader knows appears in config.example.toml with a comment above it."""
    text = (REPO / "config.example.toml").read_text()
    data = tomllib.loads(text)
    known = {f"{t}.{k}" for t, keys in _SCHEMA.items() for k in keys}
    known |= {f"hours.{k}" for k in ("timezone", "weekday", "weekend", "holiday", "extra_holidays",
                                       "normal_days", "cuti_bersama")}
    lines = text.splitlines()
    for dotted in sorted(known):
        table, key = dotted.split(".")
        assert f"[{table}]" in text, dotted
        idx = [i for i, line in enumerate(lines) if re.match(rf"#?\s*{key}\s*=", line)]
        assert idx, f"{dotted} is not in config.example.toml"
        assert lines[idx[0] - 1].lstrip().startswith("#"), f"{dotted} has no comment above it"
    for table, keys in data.items():
        for key in keys:
            assert f"{table}.{key}" in known, f"config.example.toml documents unknown key {table}.{key}"


@pytest.mark.parametrize("body,key,problem", [
    ('[storage]\ndatabse = "x"\n', "storage.databse", "unknown key"),
    ('[whatsup]\nx = 1\n', "whatsup", "unknown table"),
    ('[email]\nimap_port = "993"\n', "email.imap_port", "whole number"),
    ('[email]\nimap_port = true\n', "email.imap_port", "whole number"),
    ('[email]\nimap_port = 99999\n', "email.imap_port", "not a TCP port"),
    ('[whatsapp]\nfrom_number = "+6282129666065"\n', "whatsapp.from_number", "whatsapp:+"),
    ('[hours]\nweekday = "21:00-08:00"\n', "hours.weekday", "not after"),
    ('[hours]\ntimezone = "Mars/Base"\n', "hours.timezone", "timezone"),
    ('[dev]\nsimulator = "yes"\n', "dev.simulator", "true or false"),
    ('[storage\ndatabase = 1\n', "-", "not valid TOML"),
    ('[storage]\nretention_days = -1\n', "storage.retention_days", "keep forever"),
    ('[storage]\nretention_days = "30"\n', "storage.retention_days", "whole number"),
    ('[storage]\nretention_days = 30.5\n', "storage.retention_days", "whole number"),
    ('[storage]\nretention_days = true\n', "storage.retention_days", "whole number"),
])
def test_bad_config_names_file_key_and_problem(tmp_path, body, key, problem):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_settings(str(path), environ={})
    assert err.value.source == str(path)
    assert err.value.key == key
    assert problem in err.value.problem


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(str(tmp_path / "nope.toml"), environ={})


def test_config_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[storage]\ndatabase = "caf\xe9.db"\n')
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(str(path), environ={})


def test_retention_days_default_and_example():
    assert settings_from_mapping({}).retention_days == 0  # keep forever unless configured
    assert settings_from_mapping({"storage": {"retention_days": 90}}, "f").retention_days == 90
    assert load_settings(str(REPO / "config.example.toml"), environ={}).retention_days == 365


# -- the simulator runs only when asked for (issue 10 item 12) -----------------------------------
def test_embedded_simulator_default_holds_only_on_loopback():
    from bot.config import simulator_for_bind

    s = settings_from_mapping({}, environ={})  # configuration from the environment alone
    assert s.simulator is True and s.simulator_asked is False  # INTERFACE: true in the embedded defaults
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert simulator_for_bind(s, host).simulator is True, host
    for host in ("0.0.0.0", "::", "10.0.0.5", "bot.example.com", "unix:/run/bot.sock"):
        assert simulator_for_bind(s, host).simulator is False, host
    # Behind a trusted reverse proxy loopback is no private try-out.
    proxied = settings_from_mapping({"console": {"trusted_proxies": 1}}, "f.toml", {})
    assert simulator_for_bind(replace(proxied, simulator=True), "127.0.0.1").simulator is False


def test_simulator_asked_for_in_a_file_or_the_environment_runs_anywhere():
    from bot.config import simulator_for_bind

    on_file = settings_from_mapping({"dev": {"simulator": True}}, "f.toml", {})
    on_env = settings_from_mapping({}, environ={"YESSINDO_SIMULATOR": "1"})
    for s in (on_file, on_env):
        assert s.simulator_asked and simulator_for_bind(s, "0.0.0.0").simulator is True
    # The environment wins over the file, both ways; 0 switches it off even on loopback.
    assert settings_from_mapping({"dev": {"simulator": False}}, "f.toml", {"YESSINDO_SIMULATOR": "yes"}).simulator
    off = settings_from_mapping({}, environ={"YESSINDO_SIMULATOR": "0"})
    assert simulator_for_bind(off, "127.0.0.1").simulator is False
    assert settings_from_mapping({"dev": {"simulator": True}}, "f.toml", {"YESSINDO_SIMULATOR": "off"}).simulator is False


def test_bad_simulator_switch_is_a_config_error():
    with pytest.raises(ConfigError, match="YESSINDO_SIMULATOR.*1 or 0"):
        settings_from_mapping({}, environ={"YESSINDO_SIMULATOR": "ja"})


def test_example_documents_the_simulator_switch():
    assert "YESSINDO_SIMULATOR" in (REPO / "config.example.toml").read_text()
