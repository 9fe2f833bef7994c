"""`pip install .` (not editable) gives a working bot: the wheel is built, installed into a
fresh venv that cannot see this checkout, and the installed `yessindo-bot` classifies,
serves `/healthz`, the landing page and the console login page with its stylesheet.

The fresh install shares the intent model cache (YESSINDO_CACHE_DIR, set by conftest) so
it does not retrain; pip's own cache makes installing the dependencies quick.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.procs import free_port, stop

# Everything read at run time: any file beside the code (templates, static files, a
# widget's script...) and the shop's knowledge.
DATA_DIRS = ("knowledge", "bot", "handoff")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


# What a source distribution holds: the build reads nothing else.
SOURCE = ("pyproject.toml", "setup.py", "LICENSE", "README.md", "bot", "handoff", "knowledge")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources: an in-tree build would reuse a stale build/ folder."""
    import shutil

    src = tmp_path_factory.mktemp("src")
    for name in SOURCE:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    proc = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)])
    # The build itself is quiet: no setuptools deprecation warnings (issue 10, item 17).
    assert "Warning" not in proc.stderr, proc.stderr
    (found,) = out.glob("yessindo_bot-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """A fresh venv with the wheel (and its dependencies) installed; the environment and
    working folder to run it from, neither of which points at the checkout."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--quiet", str(wheel)])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("YESSINDO_", "TWILIO_", "PYTHON", "VIRTUAL_ENV"))}
    env["YESSINDO_CACHE_DIR"] = os.environ["YESSINDO_CACHE_DIR"]  # trained once, shared
    env["YESSINDO_DATABASE"] = str(root / "bot.db")
    work = root / "work"
    work.mkdir()
    return venv, env, work


def test_wheel_holds_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = []
    for top in ("bot", "handoff"):
        for path in (REPO / top).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if "__pycache__" not in rel and rel not in names:
                missing.append(rel)
    for folder in DATA_DIRS:
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".py"):
                rel = path.relative_to(REPO).as_posix()
                packaged = rel.replace("knowledge/", "yessindo_knowledge/", 1) if rel.startswith("knowledge/") else rel
                if packaged not in names:
                    missing.append(rel)
    assert not missing, f"not in the wheel: {missing[:20]}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_installed_bot_does_not_import_the_checkout(installed):
    venv, env, work = installed
    out = _run([str(venv / "bin" / "python"), "-c",
                "import bot, bot.config as c, sys; print(bot.__file__); print(c.DEFAULT_KNOWLEDGE_DIR); "
                "print('\\n'.join(sys.path))"], env=env, cwd=work).stdout.splitlines()
    assert out[0].startswith(str(venv)), out
    assert out[1].startswith(str(venv)) and out[1].endswith("yessindo_knowledge"), out
    assert not any(p.startswith(str(REPO)) for p in out[2:]), out


def test_installed_classify(installed):
    venv, env, work = installed
    proc = _run([str(venv / "bin" / "yessindo-bot", ), "classify"], env=env, cwd=work,
                input="jam berapa buka kak?\nterima kasih banyak kak\n", timeout=300)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["intent"] for r in rows] == ["hours", "thanks"], rows


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_installed_serve_health_landing_and_console(installed):
    venv, env, work = installed
    port = free_port()
    proc = subprocess.Popen([str(venv / "bin" / "yessindo-bot"), "serve", "--port", str(port), "--workers", "1"],
                            env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, body = _get(base + "/healthz")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read().decode() if proc.poll() is not None else "no answer")
                time.sleep(0.2)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        status, page = _get(base + "/console/login")
        assert status == 200 and 'type="password"' in page, page[:500]
        status, css = _get(base + "/console/static/console.css")
        assert status == 200 and "{" in css
        status, landing = _get(base + "/")
        assert status == 200 and 'href="/console"' in landing
        status, widget = _get(base + "/livechat/widget.js")  # the live chat's script, frame and files
        assert status == 200 and "yessindo" in widget
        status, frame = _get(base + "/livechat/frame")
        assert status == 200 and 'data-yessindo="launcher"' in frame
        status, js = _get(base + "/livechat/static/frame.js")
        assert status == 200 and "yessindo" in js
    finally:
        stop(proc)
