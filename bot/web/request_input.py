"""What a request carries, read without a 500: a JSON body that is an object (never a list,
a number, a string or JSON nested deeper than Python's recursion limit), and a message id
from a query string (never beyond SQLite's INTEGER)."""
from __future__ import annotations

from typing import Any

from flask import request

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER


def json_object() -> dict[str, Any] | None:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return None
    return data if isinstance(data, dict) else None


def json_or_empty() -> dict[str, Any]:
    return json_object() or {}


def message_id_arg(value: str | None) -> int:
    """A message id from a query string: 0 when absent or not a number, at most MAX_ID."""
    try:
        return min(max(0, int(value or "0")), MAX_ID)
    except ValueError:
        return 0
