"""SLA timers on the business-hours calendar.

Each ticket carries two promises from the policy: the first response (WhatsApp 15 min,
email 2 h of opening time; complex cases and escalations 2 working days) and the
resolution (2 working days). After the first response, a customer message that waits
for a person starts the channel's promise again (the next reply), until someone answers. Both due times were computed with opening time only, so
the clock is already "paused" outside opening hours; here we say, at a given moment,
which promise is running, how much opening time is left (negative when late), whether
it is at risk, and whether the clock is paused right now. A resolved ticket's timers
are stopped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from handoff.store import Ticket

# "At risk": less than a quarter of the promised opening time is left, or five minutes.
AT_RISK_SHARE = 0.25
AT_RISK_FLOOR = timedelta(minutes=5)


class Calendar(Protocol):
    def opening_time(self, start: datetime, end: datetime) -> timedelta: ...
    def is_open(self, t: datetime) -> bool: ...


@dataclass(frozen=True)
class SlaView:
    phase: str  # "first_response" | "next_reply" | "resolution" | "done"
    due_at: datetime | None
    remaining: timedelta | None  # opening time left; negative when late
    state: str  # "ok" | "at_risk" | "late" | "done"
    paused: bool  # outside opening hours the clock does not run
    label: str  # Indonesian, for the console

    @property
    def late(self) -> bool:
        return self.state == "late"


def current_deadline(ticket: Ticket) -> tuple[str, datetime | None]:
    """Which promise is running and when it falls due."""
    if ticket.status == "resolved":
        return "done", None
    if ticket.first_response_at is None:
        return "first_response", ticket.first_response_due or ticket.due_at
    resolution = ticket.resolution_due or ticket.due_at
    if ticket.reply_due is not None and ticket.reply_due <= resolution:
        return "next_reply", ticket.reply_due
    return "resolution", resolution


def sla_view(ticket: Ticket, now: datetime, calendar: Calendar) -> SlaView:
    phase, due = current_deadline(ticket)
    if phase == "done" or due is None:
        return SlaView("done", None, None, "done", False, "Selesai")
    paused = not calendar.is_open(now)
    if now >= due:
        remaining = -calendar.opening_time(due, now)
        state = "late"
    else:
        remaining = calendar.opening_time(now, due)
        start = {"resolution": ticket.first_response_at, "next_reply": ticket.reply_since}.get(phase) or ticket.created_at
        promised = calendar.opening_time(start, due)
        threshold = max(promised * AT_RISK_SHARE, AT_RISK_FLOOR)
        state = "at_risk" if remaining <= threshold else "ok"
    return SlaView(phase, due, remaining, state, paused, _label(phase, state, remaining, paused))


def format_duration(delta: timedelta) -> str:
    """12 mnt, 1 j 20 mnt, 26 j (opening time: days would mislead)."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return "<1 mnt"
    hours, mins = divmod(minutes, 60)
    if not hours:
        return f"{mins} mnt"
    return f"{hours} j {mins} mnt" if mins and hours < 10 else f"{hours} j"


def _label(phase: str, state: str, remaining: timedelta, paused: bool) -> str:
    what = {"first_response": "Respons pertama", "next_reply": "Balasan berikutnya"}.get(phase, "Penyelesaian")
    if state == "late":
        text = f"{what}: terlambat {format_duration(remaining)}"
    else:
        text = f"{what}: sisa {format_duration(remaining)}"
    return text + (" (dijeda, di luar jam kerja)" if paused else "")
