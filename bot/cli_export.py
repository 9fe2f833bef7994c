"""`yessindo-bot` commands of the agent's desk (export). Filled in by issue 12's work."""
from __future__ import annotations

import argparse
from typing import Any, Callable

COMMANDS: dict[str, Callable[..., int]] = {}  # top-level commands: name -> handler(args, settings)
QUEUE_ACTIONS: dict[str, Callable[..., int]] = {}  # `queue ACTION`: handler(args, settings, store, desk, now, tz)


def add_parsers(sub: Any, qsub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the top-level `sub` and to `queue`'s `qsub`."""
