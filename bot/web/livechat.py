"""The website live chat (channel `web`): the embed script, the chat frame, the demo shop
page, and the checks every live-chat request passes (bot/web/livechat_api.py holds the
JSON API, bot/web/livechat_hub.py the live stream).

Shape: `widget.js` (on the shop's page) adds one iframe from this server, isolated from
the host page's styles and scripts; everything else runs inside that frame, on this
server's origin. So the API needs no CORS, the visitor's token lives in the frame's
own storage, and no console cookie (path /console, HttpOnly) is ever sent to or
readable by the widget. Which sites may embed the frame is the browser's to enforce,
from `frame-ancestors` (this origin plus `[livechat] allowed_origins`); an API request
whose Origin is any other site is refused.
"""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request

STATIC = Path(__file__).parent / "static" / "livechat"
STATIC_URL = "/livechat/static"

livechat = Blueprint("livechat", __name__, template_folder="templates")
demo_page = Blueprint("livechat_demo", __name__, template_folder="templates")  # only with the simulator on


def own_origin() -> str:
    return request.host_url.rstrip("/")


def origin_allowed(origin: str) -> bool:
    settings = current_app.config["SETTINGS"].livechat
    return origin == own_origin() or origin in settings.allowed_origins


def refuse_foreign_origin() -> Response | None:
    """A browser names the page that made the request (Origin; Sec-Fetch-Site on every
    request of a modern browser): any site but ours and the shop's is refused. Tools
    that send neither (curl, the benches) pass: they carry no visitor's cookies anyway."""
    origin = request.headers.get("Origin")
    if origin is not None and not origin_allowed(origin):
        return json_error(403, "origin not allowed")
    if origin is None and request.headers.get("Sec-Fetch-Site") == "cross-site":
        return json_error(403, "origin not allowed")
    return None


def json_error(status: int, message: str, **extra: Any) -> Response:
    """{"error": message, ...} with `status`; Retry-After when `retry_after` is given."""
    resp = jsonify(error=message, **extra)
    resp.status_code = status
    if "retry_after" in extra:
        resp.headers["Retry-After"] = str(extra["retry_after"])
    return resp


def browser_lang() -> str:
    """"en" when the browser asks for English before Indonesian, else "id"."""
    return "en" if request.accept_languages.best_match(["id", "en"]) == "en" else "id"


def frame_ancestors() -> str:
    settings = current_app.config["SETTINGS"].livechat
    return " ".join(["'self'", *settings.allowed_origins])


def _csp(extra_frame_ancestors: bool = True) -> str:
    parts = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:",
             "connect-src 'self'", "base-uri 'none'", "form-action 'self'"]
    parts.append(f"frame-ancestors {frame_ancestors()}" if extra_frame_ancestors else "frame-ancestors 'self'")
    return "; ".join(parts)


@livechat.before_request
def _enabled() -> None:
    if not current_app.config["SETTINGS"].livechat.enabled:
        abort(404)


_TYPES = {"widget.js": "application/javascript", "frame.js": "application/javascript", "demo.js": "application/javascript",
          "frame.css": "text/css", "demo.css": "text/css"}
_FILES: dict[str, tuple[bytes, bytes, str]] = {}  # name -> (raw, gzipped, etag), read once per process


def _asset(name: str) -> Response:
    """One of the widget's files, gzipped when the browser takes it (every visitor of the
    shop's pages loads them: 45 KB raw, 15 KB gzipped), with an ETag for revalidation."""
    if name not in _FILES:
        raw = (STATIC / name).read_bytes()
        _FILES[name] = (raw, gzip.compress(raw, 9, mtime=0), hashlib.sha256(raw).hexdigest()[:20])
    raw, packed, etag = _FILES[name]
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    elif "gzip" in request.accept_encodings:
        resp = Response(packed, mimetype=_TYPES[name])
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(raw, mimetype=_TYPES[name])
    resp.set_etag(etag)
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@livechat.get("/livechat/widget.js")
def widget_js():  # type: ignore[no-untyped-def]
    resp = _asset("widget.js")
    # any shop page may load the script; whether it may show the frame is frame-ancestors' call
    resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@livechat.get(STATIC_URL + "/<path:name>")
def static_file(name: str):  # type: ignore[no-untyped-def]
    if name not in _TYPES or name == "widget.js":
        abort(404)
    return _asset(name)


@livechat.get("/livechat/frame")
def frame():  # type: ignore[no-untyped-def]
    resp = Response(render_template("livechat/frame.html", shop=_shop_name(), static_base=STATIC_URL,
                                    lang=browser_lang()))
    resp.headers["Content-Security-Policy"] = _csp()
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _shop_name() -> str:
    from bot.web.services import services

    return services().bot.knowledge.shop.name


@demo_page.get("/livechat/demo")
def demo():  # type: ignore[no-untyped-def]
    """A sample shop homepage with the widget: only with the simulator on (registered then)."""
    resp = Response(render_template("livechat/demo.html", widget_url="/livechat/widget.js", static_base=STATIC_URL,
                                    shop=_shop_name()))
    # a strict shop page: it allows this server's script and frame, nothing inline
    resp.headers["Content-Security-Policy"] = _csp(extra_frame_ancestors=False) + "; frame-src 'self'"
    return resp


def init_livechat(app: Flask) -> None:
    """Register the live chat: the pages, the API and the live stream."""
    from bot.web import livechat_contact  # noqa: F401  (its routes join the API blueprint)
    from bot.web.livechat_api import api
    from bot.web.livechat_hub import stream

    settings = app.config["SETTINGS"]
    if settings.simulator and settings.livechat.enabled:
        app.register_blueprint(demo_page)
    app.register_blueprint(livechat)
    app.register_blueprint(api)
    app.register_blueprint(stream)

    @app.after_request
    def livechat_headers(response: Response) -> Response:
        if request.path.startswith("/livechat/"):
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            if request.path.startswith("/livechat/api/"):
                response.headers["Cache-Control"] = "no-store"
        return response
