"""The agent's desk's command modules (issue 12), kept apart so `bot.cli` (the parser) and
`bot.cli_desk` (the `queue` actions) both reach them without importing each other."""
from __future__ import annotations

import importlib
from types import ModuleType

DESK_CLI = ("bot.cli_canned", "bot.cli_notes", "bot.cli_assign", "bot.cli_search", "bot.cli_export")


def desk_cli_modules() -> list[ModuleType]:
    """Each has `add_parsers(sub, qsub, common)`, `COMMANDS` (top-level commands) and
    `QUEUE_ACTIONS` (`queue ACTION` handlers)."""
    return [importlib.import_module(name) for name in DESK_CLI]
