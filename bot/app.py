"""The WSGI application: `create_app()` wires settings, the bot and the blueprints.

The bot (and its SQLite connection) is built lazily, once per process and on first
use, so a server that forks workers after importing the app never shares a
connection across processes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from flask import Flask, jsonify

from bot.config import Settings, load_settings
from bot.pipeline import Bot
from bot.web.services import Services, services  # noqa: F401  (services: re-exported)


def create_app(settings: Settings | None = None, *, bot: Bot | None = None,
               clock: Callable[[], datetime] | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    # Twilio's form bodies are small; a hostile one is refused before parsing.
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["yessindo"] = Services(settings, bot, clock)
    from bot.web.whatsapp_answer import WebhookFastPath

    # Twilio's usual post is answered before Flask builds a request for it (same answer
    # as the Flask route: bot/web/whatsapp_answer.py); inside ProxyFix, so it sees the
    # client's scheme and address as the routes do.
    app.wsgi_app = WebhookFastPath(app.wsgi_app, app.extensions["yessindo"],  # type: ignore[method-assign]
                                   app.config["MAX_CONTENT_LENGTH"])
    if settings.trusted_proxies:
        # Behind nginx: the client's address (login rate limit) and https (Secure cookies)
        # come from the proxy's X-Forwarded-* headers. The host is never taken from them:
        # Twilio signatures are checked against [whatsapp] public_url.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,  # type: ignore[method-assign]
                                x_proto=settings.trusted_proxies, x_host=0, x_port=0, x_prefix=0)

    from bot.web.health import health
    from bot.web.whatsapp import whatsapp

    app.register_blueprint(health)
    app.register_blueprint(whatsapp)
    from bot.web.landing import landing

    app.register_blueprint(landing)  # /: links to /try and /console
    from bot.web.console import init_console

    init_console(app)  # /console: session cookie settings, security headers, the blueprint
    from bot.web.livechat import init_livechat

    init_livechat(app)  # /livechat: widget, frame, API, live stream (and /livechat/demo with the simulator)
    if settings.simulator:
        from bot.web.simulator import simulator

        app.register_blueprint(simulator)

    @app.errorhandler(413)
    def too_large(_err):  # type: ignore[no-untyped-def]
        return jsonify(error="request too large"), 413

    return app
