"""Where trained models are kept between runs, and training only once at a time.

Training takes seconds; loading a trained model well under one. The model is kept
as `intent-model-<hash>.npz` in the cache folder: `$YESSINDO_CACHE_DIR`, else
`$XDG_CACHE_HOME/yessindo-bot`, else `~/.cache/yessindo-bot` (created private,
0700). When no folder is writable the model lives in memory only. Several workers
starting together train once: the others wait on a lock file and read the result.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterator

from .model import LinearModel

KEEP = 4  # older models kept (a rollback to the previous data needs no retraining)


def cache_dir() -> Path | None:
    env = os.environ.get("YESSINDO_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        home = Path(xdg) if xdg else Path.home() / ".cache"
        base = home / "yessindo-bot"
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = base / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return base
    except OSError:
        return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def load_or_train(key: str, train: Callable[[], LinearModel], directory: Path | None = None) -> LinearModel:
    """The cached model for `key`, else a freshly trained one (cached when possible)."""
    folder = directory if directory is not None else cache_dir()
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError:
            folder = None
    if folder is None:
        return train()
    path = folder / f"intent-model-{key[:32]}.npz"
    model = LinearModel.load(path, key)
    if model is not None:
        return model
    try:
        lock = _locked(folder / ".train.lock")
        lock.__enter__()
    except OSError:
        return train()
    try:
        model = LinearModel.load(path, key)  # another process may have finished meanwhile
        if model is None:
            model = train()
            with contextlib.suppress(OSError):
                model.save(path)
                _prune(folder, keep=path)
        return model
    finally:
        lock.__exit__(None, None, None)


def _prune(folder: Path, keep: Path) -> None:
    models = sorted(folder.glob("intent-model-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in models if p != keep][KEEP:]:
        with contextlib.suppress(OSError):
            old.unlink()
