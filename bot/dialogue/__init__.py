"""The conversation: what the bot remembers of each customer and how it decides a reply.

`decide(turn, snapshot, context) -> Plan` is pure (tests/test_decide.py runs it with
no database); bot/pipeline.py reads the snapshot and applies the plan in one
transaction.
"""
from .decide import decide
from .details import Details, find_details, is_detail_only
from .plan import Context, NewTicket, Plan, Snapshot, TicketChange, Turn
from .state import Case, DialogueState

__all__ = ["decide", "Details", "find_details", "is_detail_only", "Context", "NewTicket", "Plan", "Snapshot",
           "TicketChange", "Turn", "Case", "DialogueState"]
