"""Who may read the database (issue 10 item 10): the database, its -wal and -shm files and
the folders made for them are the bot's user's only (0600/0700), or 0640/0750 for the
`[storage] group` the operator names; checked with stat after real writes, also by the
`serve` and `chat` processes started with the usual umask 022."""
from __future__ import annotations

import grp
import os
import stat
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from bot.config import load_settings
from bot.errors import ConfigError
from handoff import filemodes
from handoff.store import Store
from tests.conftest import REPO, Conversation
from tests.procs import free_port, stop, wait_until_up

TOKEN = "modes-test-token"


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def side_files(db: str | Path) -> list[str]:
    return [str(db) + s for s in ("-wal", "-shm") if os.path.exists(str(db) + s)]


def other_group() -> int:
    """A group that is not the test user's own (root may hand files to any group)."""
    for g in grp.getgrall():
        if g.gr_gid != os.getgid():
            return g.gr_gid
    pytest.skip("no second group on this machine")


def env_for(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YESSINDO_", "TWILIO_"))}
    env.update(YESSINDO_DATABASE=str(db), TWILIO_AUTH_TOKEN=TOKEN, PYTHONPATH=str(REPO),
               YESSINDO_CACHE_DIR=os.environ.get("YESSINDO_CACHE_DIR", str(REPO / ".cache")))
    return env


def test_a_new_database_its_wal_shm_and_folder_are_the_owners_only(tmp_path, clock):
    old = os.umask(0o022)
    try:
        db = tmp_path / "new" / "deeper" / "bot.db"
        store = Store(db)
        with store.write(clock()) as tx:
            tx.log_event("test.write", "test", data={"x": 1})
        assert mode(db) == 0o600
        assert len(side_files(db)) == 2 and all(mode(p) == 0o600 for p in side_files(db))
        assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
        store.close()
    finally:
        os.umask(old)


def test_an_old_world_readable_database_is_tightened_on_open(tmp_path, bot, clock):
    db = Path(bot.store.path)
    Conversation(bot, clock).say("halo")
    for p in (str(db), *side_files(db)):
        os.chmod(p, 0o644)
    assert len(side_files(db)) == 2
    Store(db).close()
    assert mode(db) == 0o600 and all(mode(p) == 0o600 for p in side_files(db))


def test_with_a_group_the_files_are_0640_and_belong_to_it(tmp_path, clock):
    gid = other_group()
    db = tmp_path / "g" / "bot.db"
    store = Store(db, group=gid)
    with store.write(clock()) as tx:
        tx.log_event("test.write", "test")
    for p in (str(db), *side_files(db)):
        assert mode(p) == 0o640 and os.stat(p).st_gid == gid, p
    assert mode(db.parent) == 0o750 and os.stat(db.parent).st_gid == gid
    # Opened again without the setting (another command): the group keeps its read access.
    Store(db).close()
    assert mode(db) == 0o640 and os.stat(db).st_gid == gid
    store.close()


def test_storage_group_is_checked_and_documented(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[storage]\ngroup = "no-such-group-yessindo"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(str(cfg), environ={})
    assert "storage.group" in str(err.value)
    cfg.write_text(f'[storage]\ngroup = "{grp.getgrgid(os.getgid()).gr_name}"\n')
    assert load_settings(str(cfg), environ={}).storage_group == grp.getgrgid(os.getgid()).gr_name
    assert load_settings(str(REPO / "config.example.toml"), environ={}).storage_group == ""
    assert "# group = " in (REPO / "config.example.toml").read_text()


def test_create_private_never_widens_with_the_umask(tmp_path):
    old = os.umask(0)
    try:
        filemodes.create_private(tmp_path / "f")
        assert mode(tmp_path / "f") == 0o600
    finally:
        os.umask(old)


def _start_serve(tmp_path: Path, db: Path, config: Path | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"]
    if config:
        args += ["--config", str(config)]
    proc = subprocess.Popen(args, env=env_for(db), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            umask=0o022)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(proc, base, 60)
    return proc, base


def _webhook(base: str) -> None:
    url = base + "/webhooks/whatsapp"
    data = {"From": "whatsapp:+6281200001111", "To": "whatsapp:+6282129666065", "Body": "halo, paket saya belum sampai",
            "MessageSid": "SM" + "7" * 32, "ProfileName": "Tes"}
    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode(), method="POST",
                                 headers={"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, data)})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200


@pytest.mark.parametrize("with_group", [False, True])
def test_serve_and_chat_processes_make_private_files(tmp_path, with_group):
    gid = other_group() if with_group else None
    config = None
    if with_group:
        config = tmp_path / "config.toml"
        config.write_text(f'[storage]\ngroup = "{grp.getgrgid(gid).gr_name}"\n')  # type: ignore[arg-type]
    db = tmp_path / "var" / "serve.db"
    proc, base = _start_serve(tmp_path, db, config)
    try:
        _webhook(base)
        # `chat` writes to the same database while serve holds it open.
        args = [sys.executable, "-m", "bot.cli", "chat", "--from", "+6281200002222"]
        if config:
            args += ["--config", str(config)]
        p = subprocess.run(args, input=b"stok kemeja putih ada?\n", env=env_for(db), cwd=tmp_path,
                           capture_output=True, timeout=120, umask=0o022)
        assert p.returncode == 0, p.stderr.decode()
        want = 0o640 if with_group else 0o600
        files = [str(db), *side_files(db)]
        assert len(files) == 3
        assert {p: mode(p) for p in files} == {p: want for p in files}
        if gid is not None:
            assert {os.stat(p).st_gid for p in files} == {gid}
        assert mode(db.parent) == (0o750 if with_group else 0o700)
    finally:
        stop(proc)
    # After a clean stop: whatever is left is still private.
    assert all(mode(p) == (0o640 if with_group else 0o600) for p in [str(db), *side_files(db)])
