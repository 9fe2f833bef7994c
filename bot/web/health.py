from __future__ import annotations

from flask import Blueprint, jsonify

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    from bot.app import services

    try:
        ok = services().bot.store.ping()
    except Exception:  # the database cannot even be opened
        ok = False
    if ok:
        return jsonify(status="ok")
    return jsonify(status="error", error="database unavailable"), 503
