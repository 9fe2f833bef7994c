"""A small response leaves gunicorn in one `send`, not two.

gunicorn's `Response.write` sends the status line and headers, then the body, as two
system calls. For a webhook's few hundred bytes of TwiML the second call costs as much as
the first, and on loopback each one also runs the receiving side's TCP work: measured under
py-spy, the two sends were about a tenth of a worker's time at full webhook load. Here the
first write of a response (headers and its first piece of body, when that piece is small)
is gathered and sent once. Anything else (chunked bodies, later writes, large pieces,
`sendfile`) goes through gunicorn's own code unchanged.
"""
from __future__ import annotations

from typing import Any

SMALL = 64 * 1024  # a first body piece up to this size is joined to the headers


class _Gather:
    """Stands in for the socket during one `write`: keeps what would have been sent."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(data)


def install() -> bool:
    """Patch gunicorn's Response in this (worker) process. Returns False, changing
    nothing, when the installed gunicorn does not have the shape this relies on."""
    try:
        from gunicorn.http.wsgi import Response
    except ImportError:
        return False
    if getattr(Response, "_yessindo_one_send", False):
        return True
    if not all(callable(getattr(Response, name, None)) for name in ("write", "send_headers")):
        return False
    original = Response.write

    def write(self: Any, arg: bytes) -> None:
        if getattr(self, "headers_sent", True) or getattr(self, "chunked", True) or not isinstance(arg, bytes) or len(arg) > SMALL:
            original(self, arg)
            return
        sock, gathered = self.sock, _Gather()
        self.sock = gathered
        try:
            original(self, arg)  # headers, then (unless the response has no body) the body piece
        finally:
            self.sock = sock
        if gathered.parts:
            sock.sendall(b"".join(gathered.parts))

    Response.write = write
    Response._yessindo_one_send = True
    return True
