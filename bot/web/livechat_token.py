"""The live-chat visitor's identity: a random id in a token the server signs and the
widget keeps in the browser (localStorage of the widget's own frame, never a cookie).

The token carries no personal data and no expiry: the same visitor comes back to the
same conversation the next day. It is signed with a key derived from the console's
signing key (a separate purpose, so one kind of token can never stand in for the other).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

VERSION = "v1"
_ID = re.compile(r"^[0-9a-f]{32}$")  # lower case: customer ids are compared case-insensitively (forget)


def _mac(key: str, visitor_id: str) -> str:
    derived = hmac.new(key.encode(), b"yessindo-livechat-visitor", hashlib.sha256).digest()
    digest = hmac.new(derived, visitor_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


def new_visitor_id() -> str:
    return secrets.token_hex(16)


def issue(key: str, visitor_id: str) -> str:
    return f"{VERSION}.{visitor_id}.{_mac(key, visitor_id)}"


def verify(key: str, token: object) -> str | None:
    """The visitor id a genuine token names, else None."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    version, _, rest = token.partition(".")
    visitor_id, _, mac = rest.partition(".")
    if version != VERSION or not _ID.match(visitor_id) or not mac:
        return None
    return visitor_id if hmac.compare_digest(mac, _mac(key, visitor_id)) else None
