"""The Makefile's choice of interpreter for .venv/: the system's CPython when it can make a
venv, else python3 from the PATH; an interpreter the operator named that fails stops make.
Run with `make` itself on a copy of the Makefile (pip's step replaced by `true`)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

REFUSES_VENV = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  echo "The virtual environment was not created successfully because ensurepip is not available." >&2
  exit 1
fi
exec "{python}" "$@"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    return tmp_path


def make_venv(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", ".venv/bin/python", "QUIET_PIP=true", *args], cwd=project,
                          capture_output=True, text=True, timeout=120)


def refusing_python(project: Path) -> Path:
    fake = project / "python-without-venv"
    fake.write_text(REFUSES_VENV.format(python=sys.executable))
    fake.chmod(0o700)
    return fake


def test_the_system_python_makes_the_venv(project):
    done = make_venv(project, f"SYSTEM_PYTHON={sys.executable}")
    assert done.returncode == 0, done.stderr
    assert f"with {sys.executable}" in done.stdout
    assert (project / ".venv" / "bin" / "python").exists()
    assert not (project / ".venv.log").exists()


def test_a_system_python_that_cannot_make_a_venv_falls_back_to_python3(project):
    fake = refusing_python(project)
    done = make_venv(project, f"SYSTEM_PYTHON={fake}")
    assert done.returncode == 0, done.stderr
    assert f"with {fake}" in done.stdout and "it cannot make a venv: using python3" in done.stdout
    assert (project / ".venv" / "bin" / "python").exists()


def test_a_python_named_by_the_operator_that_fails_stops_make(project):
    fake = refusing_python(project)
    done = make_venv(project, f"PYTHON={fake}")
    assert done.returncode != 0
    assert "ensurepip is not available" in done.stdout + done.stderr
    assert not (project / ".venv" / "bin" / "python").exists()
