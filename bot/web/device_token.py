"""Device tokens: a browser that logged in as an agent keeps a signed, long-lived cookie
saying so, one per agent. With it, that agent's logins from that browser are counted
only against the browser's own failures (`bot.web.login_limit`), so guesses from
elsewhere never lock the agent out.

The cookie (`yessindo_device_<12 hex of the name's hash>`) holds the agent's name and a
random device id, signed with the console key; it is sent only to /console/login,
HttpOnly, SameSite=Strict, Secure over HTTPS, and lives DEVICE_DAYS from the last login.
A token is not a login: the password is always checked.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from hashlib import sha256

from flask import Flask, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

DEVICE_DAYS = 180
DEVICE_LIFETIME = timedelta(days=DEVICE_DAYS)
COOKIE_PREFIX = "yessindo_device_"
COOKIE_PATH = "/console/login"
SALT = "yessindo-console-device"


def cookie_name(agent: str) -> str:
    return COOKIE_PREFIX + sha256(agent.strip().lower().encode()).hexdigest()[:12]


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=SALT)


def device_of(request: Request, key: str, agent: str) -> str | None:
    """The device id of a valid token for `agent` sent with this request, else None."""
    raw = request.cookies.get(cookie_name(agent))
    if not raw or len(raw) > 512:
        return None
    try:
        data = _serializer(key).loads(raw, max_age=int(DEVICE_LIFETIME.total_seconds()))
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or not isinstance(data.get("d"), str) or not isinstance(data.get("n"), str):
        return None
    if data["n"].strip().lower() != agent.strip().lower():
        return None
    return data["d"]


def issue(response: Response, app: Flask, request: Request, key: str, agent: str, device: str | None) -> str:
    """Set (or renew) the device token of `agent` on `response`; returns its device id."""
    device = device or secrets.token_urlsafe(16)
    value = _serializer(key).dumps({"n": agent, "d": device})
    response.set_cookie(cookie_name(agent), value, max_age=int(DEVICE_LIFETIME.total_seconds()), path=COOKIE_PATH,
                        httponly=True, samesite="Strict",
                        secure=bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure)
    return device
