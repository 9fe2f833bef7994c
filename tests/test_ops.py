"""Operations: `backup` (consistent under concurrent writes, restorable), `doctor` (one
line per check against real fake servers, exit codes, no secrets printed), and `serve`
running exactly one supervised email poller that answers a mail in a real Dovecot."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.mail_servers import PASSWORD, SMTPServer, customer_mail, dovecot, free_port  # noqa: F401
from tests.mail_servers import smtp_server  # noqa: F401  (fixture)
from tests.procs import stop

SECRET_KEY = "doctor-test-secret-key-0123456789"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("YESSINDO_", "TWILIO_")) or k == "YESSINDO_CACHE_DIR"}
    env["PYTHONPATH"] = str(REPO)
    return env


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env=_env(), cwd=cwd, timeout=timeout)


# -- backup --------------------------------------------------------------------------------

WRITER = r"""
import os, sqlite3, sys, time
db, progress = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db, isolation_level=None, timeout=30)
conn.execute("PRAGMA busy_timeout = 30000")
n = 0
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    n += 1
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO events (at, kind, actor, data) VALUES (?, 'ops.test', 'writer', ?)",
                 ("2026-11-30T00:00:00+00:00", '{"n": %d, "pad": "%s"}' % (n, "x" * 2000)))
    conn.execute("COMMIT")
    with open(progress + ".tmp", "w") as f:  # written after the commit: every n here is committed
        f.write(str(n))
    os.replace(progress + ".tmp", progress)
"""


def _committed(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _writer_rows(path: Path) -> list[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [json.loads(r[0])["n"] for r in conn.execute(
            "SELECT data FROM events WHERE kind = 'ops.test' ORDER BY id")]
    finally:
        conn.close()


def test_backup_is_consistent_while_another_process_writes_and_restores(tmp_path):
    db = tmp_path / "bot.db"
    (tmp_path / "config.toml").write_text(f'[storage]\ndatabase = "{db}"\n')
    assert cli("init-db", cwd=tmp_path).returncode == 0
    progress = tmp_path / "progress"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(progress)])
    copies = []
    try:
        while _committed(progress) < 200:
            assert writer.poll() is None
            time.sleep(0.05)
        for i in range(3):
            before = _committed(progress)
            out = tmp_path / f"copy{i}.db"
            done = cli("backup", str(out), cwd=tmp_path)
            assert done.returncode == 0, done.stderr
            assert str(out) in done.stdout
            copies.append((out, before, _committed(progress)))
    finally:
        writer.terminate()
        writer.wait(timeout=10)
    for out, before, after in copies:
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        rows = _writer_rows(out)
        # every row committed before the backup began is there, in order, with no gap (a snapshot)
        assert rows == list(range(1, len(rows) + 1)) and before <= len(rows) <= after + 1, (before, len(rows), after)
        assert not Path(f"{out}-wal").exists()  # one self-contained file
        with sqlite3.connect(out) as c:
            assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copies[-1][1] > copies[0][1]  # the writer really went on meanwhile
    assert not list(tmp_path.glob(".*partial*"))

    # Restore as the README says: stop, copy over the database, remove -wal/-shm, start.
    newest, _, _ = copies[-1]
    shutil.copyfile(newest, db)
    for side in ("-wal", "-shm"):
        Path(f"{db}{side}").unlink(missing_ok=True)
    os.chmod(db, 0o600)
    assert cli("queue", "list", cwd=tmp_path).returncode == 0
    assert _writer_rows(db) == _writer_rows(newest)


def test_backup_into_a_folder_and_failures(tmp_path):
    db = tmp_path / "bot.db"
    (tmp_path / "config.toml").write_text(f'[storage]\ndatabase = "{db}"\n')
    folder = tmp_path / "backups"
    folder.mkdir()
    assert cli("backup", str(folder), cwd=tmp_path).returncode == 1  # no database yet: nothing to copy
    assert cli("init-db", cwd=tmp_path).returncode == 0
    done = cli("backup", str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (made,) = folder.glob("yessindo-*.db")
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    failed = cli("backup", str(tmp_path / "nope" / "x.db"), cwd=tmp_path)
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1 and "does not exist" in failed.stderr
    same = cli("backup", str(db), cwd=tmp_path)
    assert same.returncode == 1 and "database itself" in same.stderr


# -- doctor --------------------------------------------------------------------------------

@pytest.fixture
def fake_twilio():
    fake = FakeTwilio()
    yield fake
    fake.close()


@pytest.fixture
def smtp_auth():
    server = SMTPServer(auth_plain=True)
    server.start()
    yield server
    server.stop()


def _doctor_config(tmp_path: Path, dovecot, smtp, twilio, **over) -> Path:  # type: ignore[no-untyped-def]
    email = {**dovecot.settings_table(), **smtp.settings_table(), "smtp_user": dovecot.user,
             "smtp_password": over.pop("smtp_password", PASSWORD)}
    if "imap_password" in over:
        email["imap_password"] = over.pop("imap_password")
    whatsapp = {"account_sid": ACCOUNT_SID, "auth_token": over.pop("auth_token", AUTH_TOKEN),
                "api_base_url": twilio.url, "public_url": over.pop("public_url", "https://bot.example/webhooks/whatsapp")}
    lines = ["[storage]", f'database = "{tmp_path / "bot.db"}"', "[console]", f'secret_key = "{SECRET_KEY}"',
             "[whatsapp]"] + [f"{k} = {json.dumps(v)}" for k, v in whatsapp.items()]
    lines += ["[email]"] + [f"{k} = {json.dumps(v)}" for k, v in email.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def _lines(out: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        status, _, rest = line.partition("  ")
        found.setdefault(rest.split(":", 1)[0].strip(), []).append(status.strip())
    return found


def test_doctor_passes_on_a_good_set_up(tmp_path, dovecot, smtp_auth, fake_twilio):  # noqa: F811
    _doctor_config(tmp_path, dovecot, smtp_auth, fake_twilio)
    assert cli("init-db", cwd=tmp_path).returncode == 0
    done = cli("doctor", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = _lines(done.stdout)
    for name in ("config", "database", "permissions", "secret key", "public url", "twilio", "imap", "smtp"):
        assert checks.get(name) and set(checks[name]) == {"ok"}, (name, done.stdout)
    assert any(r.authorized and r.method == "GET" for r in fake_twilio.requests)  # a real API call
    assert ("PLAIN", dovecot.user, True) in smtp_auth.auth_attempts or \
           ("LOGIN", dovecot.user, True) in smtp_auth.auth_attempts
    for secret in (PASSWORD, AUTH_TOKEN, SECRET_KEY, ACCOUNT_SID):
        assert secret not in done.stdout + done.stderr


def test_doctor_fails_one_line_per_problem_and_prints_no_secret(tmp_path, dovecot, smtp_auth,  # noqa: F811
                                                                fake_twilio):
    _doctor_config(tmp_path, dovecot, smtp_auth, fake_twilio, auth_token="wrong-token-abc", imap_password="wrong-imap-pw",
                   smtp_password="wrong-smtp-pw", public_url="http://bot.example/webhooks/whatsapp")
    assert cli("init-db", cwd=tmp_path).returncode == 0
    os.chmod(tmp_path / "bot.db", 0o644)
    done = cli("doctor", cwd=tmp_path)
    assert done.returncode == 1
    checks = _lines(done.stdout)
    for name in ("public url", "twilio", "imap", "smtp"):
        assert checks[name] == ["FAIL"], (name, done.stdout)
    assert "FAIL" in checks["permissions"] and "ok" in checks["config"]
    assert all(len(line) < 300 for line in done.stdout.splitlines())
    for secret in ("wrong-token-abc", "wrong-imap-pw", "wrong-smtp-pw", SECRET_KEY, PASSWORD):
        assert secret not in done.stdout + done.stderr


def test_doctor_without_channels_skips_them_and_flags_a_missing_key(tmp_path):
    (tmp_path / "config.toml").write_text(f'[storage]\ndatabase = "{tmp_path / "bot.db"}"\n')
    done = cli("doctor", cwd=tmp_path)
    checks = _lines(done.stdout)
    assert done.returncode == 1  # no database yet, no secret key
    assert checks["database"] == ["FAIL"] and checks["secret key"] == ["FAIL"]
    assert checks["twilio"] == ["skip"] and checks["imap"] == ["skip"] and checks["smtp"] == ["skip"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[storage]\ndatabase = 5\n")
    done = cli("doctor", "--config", str(bad), cwd=tmp_path)
    assert done.returncode != 0 and "storage.database" in done.stdout + done.stderr


# -- serve runs the email intake -----------------------------------------------------------

def _pollers(config: Path) -> list[int]:
    """Processes running `poll-email` with this test's config file."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"poll-email" in argv and str(config).encode() in argv:
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait(predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def test_serve_runs_exactly_one_supervised_email_poller(tmp_path, dovecot, smtp_server):  # noqa: F811
    config = tmp_path / "config.toml"
    lines = ["[storage]", f'database = "{tmp_path / "bot.db"}"', "[console]", f'secret_key = "{SECRET_KEY}"',
             "[email]"] + [f"{k} = {json.dumps(v)}" for k, v in {**dovecot.settings_table(),
                                                                 **smtp_server.settings_table()}.items()]
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--config", str(config), "--port", str(port),
                             "--workers", "3"], env=_env(), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
            except OSError:
                return False

        assert _wait(healthy), (tmp_path / "serve.log").read_text()
        first = _wait(lambda: _pollers(config))
        assert len(first) == 1, first
        time.sleep(1.0)
        assert _pollers(config) == first  # one poller however many workers, not one each

        dovecot.append(customer_mail(1))
        got = smtp_server.wait_for(1, timeout=60)
        assert len(got) == 1 and got[0].rcpt_tos == ["budi@example.com"], (tmp_path / "serve.log").read_text()
        assert got[0].message["Subject"].startswith("Re:")

        os.kill(first[0], signal.SIGKILL)  # the poller dies: serve starts another
        second = _wait(lambda: [p for p in _pollers(config) if p != first[0]])
        assert len(second) == 1 and _pollers(config) == second, (first, second)
        dovecot.append(customer_mail(2, sender="ani@example.com"))
        got = smtp_server.wait_for(2, timeout=60)
        assert sorted(r.rcpt_tos[0] for r in got) == ["ani@example.com", "budi@example.com"]
    finally:
        stop(proc, timeout=30)
        log.close()
    assert _wait(lambda: not _pollers(config), timeout=20), "the poller outlived serve"


def test_serve_without_email_starts_no_poller(tmp_path):
    from bot.config import settings_from_mapping
    from bot.ops.email_service import gunicorn_hooks

    assert gunicorn_hooks(settings_from_mapping({})) == {}
    hooks = gunicorn_hooks(settings_from_mapping({"email": {"imap_user": "x@example.com"}}))
    assert set(hooks) == {"when_ready", "on_exit"}


# -- deploy/ -------------------------------------------------------------------------------

DEPLOY = REPO / "deploy"


def _unit(name: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            k, _, v = line.partition("=")
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def test_systemd_units_are_hardened_and_verify(tmp_path):
    serve = _unit("yessindo-bot.service")
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("User", "yessindo"), ("UMask", "0077"), ("KillMode", "mixed")):
        assert serve[key] == [value], key
    assert "/var/lib/yessindo-bot" in serve["ReadWritePaths"][0]
    assert serve["ExecStart"][0].endswith("yessindo-bot serve --host 127.0.0.1 --port 5000")
    backup = _unit("yessindo-bot-backup.service")
    assert backup["Type"] == ["oneshot"] and " backup " in backup["ExecStart"][0]
    assert backup["ProtectSystem"] == ["strict"] and backup["NoNewPrivileges"] == ["yes"]
    assert _unit("yessindo-bot-backup.timer")["Persistent"] == ["true"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return  # the checks above hold; systemd's own verifier where the machine has systemd
    fake = tmp_path / "yessindo-bot"  # the installed command, for the check of ExecStart paths
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    names = ["yessindo-bot.service", "yessindo-bot-backup.service", "yessindo-bot-backup.timer"]
    for name in names:
        text = (DEPLOY / name).read_text().replace("/opt/yessindo-bot/bin/yessindo-bot", str(fake))
        (tmp_path / name).write_text(text)
    done = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in names)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


PARENT = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from bot.ops.email_service import EmailService
service = EmailService([sys.executable, "-c", "import time; time.sleep(120)"])
service.start()
while service.pid is None:
    time.sleep(0.05)
print(service.pid, flush=True)
time.sleep(120)
"""


def test_poller_dies_with_a_killed_master():
    """kill -9 of serve's master must not leave an orphaned poller reading the mailbox."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(REPO)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert Path(f"/proc/{child}").exists()
        parent.kill()
        parent.wait()

        def gone() -> bool:
            try:
                return Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
            except OSError:
                return True

        assert _wait(gone, timeout=10)
    finally:
        parent.kill()


def test_doctor_flags_a_shop_site_on_plain_http(tmp_path):
    from bot.config import settings_from_mapping
    from bot.ops.doctor import _livechat

    def check(**lc):
        return _livechat(settings_from_mapping({"livechat": lc}))

    assert check(allowed_origins=["http://www.tokoku.test"]).status == "FAIL"
    assert check(allowed_origins=["https://www.tokoku.test", "http://localhost:8080"]).status == "ok"
    assert check(enabled=False).status == "skip"
