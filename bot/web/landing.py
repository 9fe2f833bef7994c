"""`/`: a small landing page pointing people to the customer simulator (when it is on)
and the agent console, instead of a bare 404. Indonesian first, with English."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

landing = Blueprint("landing", __name__, template_folder="templates")


@landing.get("/")
def index():  # type: ignore[no-untyped-def]
    settings = current_app.config["SETTINGS"]
    return render_template("landing.html", simulator=bool(settings.simulator),
                           whatsapp=settings.whatsapp.from_number.removeprefix("whatsapp:"),
                           email=settings.email.address)
