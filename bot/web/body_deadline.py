"""A request body must arrive within a deadline (slowloris on the body).

Under gevent workers a client that dribbles its body holds only a greenlet, but
without a bound it holds it forever, and a few thousand of them fill the worker's
connections. This WSGI middleware reads the whole body (up to `max_bytes`) within
`seconds` before the app runs, else answers 408 and the connection closes. Bodies
over `max_bytes` are left to the app (Flask answers 413 without reading them).
Only for gevent workers: the deadline is a `gevent.Timeout`.
"""
from __future__ import annotations

import io
from typing import Any, Callable, Iterable

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyDeadline:
    def __init__(self, app: WSGIApp, seconds: float, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        """`larger`: paths whose bodies may be bigger than `max_bytes` (the live chat's image upload)."""
        self.app, self.seconds, self.max_bytes = app, seconds, max_bytes
        self.larger = larger or {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        import gevent

        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        max_bytes = self.larger.get(environ.get("PATH_INFO", ""), self.max_bytes)
        if (length <= 0 and not chunked) or length > max_bytes:
            return self.app(environ, start_response)
        timer = gevent.Timeout(self.seconds)
        timer.start()
        try:
            body = environ["wsgi.input"].read(length if length > 0 else max_bytes + 1)
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            start_response("408 Request Timeout", [("Content-Type", "text/plain"), ("Connection", "close")])
            return [b"request body too slow\n"]
        finally:
            timer.close()
        environ["wsgi.input"] = io.BytesIO(body)
        if length <= 0:
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
