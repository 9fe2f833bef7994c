"""The search index over tickets and conversations (SQLite FTS5). Filled in by the
search work of issue 12; `ensure_schema` is called by the migration."""
from __future__ import annotations

import sqlite3


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create (and on an upgrade, fill) the index. Idempotent."""
