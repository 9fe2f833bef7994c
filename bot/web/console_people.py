"""Console routes of the agent's desk (people), joined to the console blueprint. Filled in by issue 12's work."""
from __future__ import annotations

from bot.web.console_base import console  # noqa: F401  (routes are added to this blueprint)
