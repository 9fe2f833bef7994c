"""Errors that reach a person as one clear line, never a traceback."""
from __future__ import annotations


class ConfigError(Exception):
    """A setting or knowledge file is wrong. Names the file, the key and the problem."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source, self.key, self.problem = source, key, problem
        super().__init__(f"{source}: {key}: {problem}")


class StoreError(Exception):
    """The database cannot be read or written (read-only file, disk full, corrupt)."""


# Exit codes of the command line: 0 done, 1 the action failed, 2 bad config or usage.
EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2
