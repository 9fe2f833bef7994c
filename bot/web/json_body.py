"""A request's JSON body as an object, or None: never a 500 for a list, a number, a
string or JSON nested deeper than Python's recursion limit."""
from __future__ import annotations

from typing import Any

from flask import request


def json_object() -> dict[str, Any] | None:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        return None
    return data if isinstance(data, dict) else None


def json_or_empty() -> dict[str, Any]:
    return json_object() or {}
