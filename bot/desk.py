"""What agents and supervisors do with a ticket, for the console and the CLI alike.

Claim, release, reply, resolve, escalate, send the WhatsApp template or an email: each
is one short write transaction (handoff/queue.py checks who holds what), and every
message to the customer goes through the outbox on a channel that can reach them:
- WhatsApp free text only inside the 24-hour window (WhatsApp refuses it afterwards,
  error 63016); outside it the approved template, or email to an address an agent picks;
- email goes on its own only to an address the customer wrote from: an address merely
  typed in a message (perhaps a scammer's, perhaps a typo) is offered to the agent
  marked as unproven, and used only when the agent picks it explicitly;
- email threaded on the customer's last mail, without Auto-Submitted (a person wrote it).
The first message a person sends stops the first-response timer (handoff/sla.py); a
resolve stops the resolution timer and asks the customer one satisfaction question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from bot.business_hours import BusinessCalendar
from bot.config import Settings
from bot.desk_assign import balance_after
from bot.knowledge import Knowledge
from bot.outbound import queue_email_to, queue_message, queue_template
from bot.responder import Responder
from handoff import queue
from handoff.outbox import WINDOW, _last_inbound
from handoff.queue import QueueError
from handoff.store import Conversation, Store, Ticket, Transaction, utc_iso

TEMPLATE_TEXT = "[Template WhatsApp] Ada kabar untuk tiket {ref}. Balas pesan ini agar kami bisa melanjutkan."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHANNEL_ID = {"email": "email", "web": "live chat"}


class Sent(int):
    """The outbox id of a message a person sent; `repeat` is True when the same text had
    just been sent (a double click): nothing new was queued. Still an int for old callers."""

    repeat: bool

    def __new__(cls, outbox_id: int, repeat: bool = False) -> "Sent":
        sent = super().__new__(cls, outbox_id)
        sent.repeat = repeat
        return sent



@dataclass(frozen=True)
class ChannelState:
    """How a person can reach this ticket's customer right now."""

    channel: str
    window_open: bool | None  # WhatsApp's 24-hour window; None for email
    window_closes_at: datetime | None
    template_available: bool
    email_addresses: tuple[str, ...]  # proven: the customer wrote from it (the default offered)
    mentioned_addresses: tuple[str, ...] = ()  # only typed in a message: an agent's explicit pick

    @property
    def any_address(self) -> tuple[str, ...]:
        """Every address an agent may pick explicitly: the proven ones first."""
        return self.email_addresses + tuple(a for a in self.mentioned_addresses if a not in self.email_addresses)

    @property
    def free_text_ok(self) -> bool:
        return self.window_open is not False


class Desk:
    def __init__(self, settings: Settings, store: Store, calendar: BusinessCalendar, responder: Responder,
                 review_working_days: int = 2) -> None:
        self.settings = settings
        self.store = store
        self.calendar = calendar
        self.responder = responder
        self.review_working_days = review_working_days

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, *, knowledge: Knowledge | None = None,
                      calendar: BusinessCalendar | None = None) -> "Desk":
        """A desk on `store`; a long-lived caller (the console) passes the knowledge and
        calendar it already holds, so nothing is loaded or warmed up per request."""
        from bot.knowledge import load_knowledge

        knowledge = knowledge or load_knowledge(settings.knowledge_dir)
        calendar = calendar or BusinessCalendar(settings.hours)
        return cls(settings, store, calendar, Responder(knowledge, calendar),
                   review_working_days=knowledge.shop.review_working_days)

    # -- reads --------------------------------------------------------------------------
    def channel_state(self, now: datetime, ref: str) -> ChannelState:
        ticket = self.store.ticket(ref.upper())
        if ticket is None:
            raise QueueError(f"no ticket {ref}", "Tiket tidak ditemukan.")
        conv = self.store.conversation(ticket.conversation_id)
        assert conv is not None
        return self._channel_state(self.store.conn, conv, ticket, now)

    def _channel_state(self, conn: Any, conv: Conversation, ticket: Ticket, now: datetime) -> ChannelState:
        emails = tuple(dict.fromkeys(e.lower() for e in ticket.details.get("emails", []) if _EMAIL.match(e)))
        if conv.channel == "email":
            proven = (conv.customer,)
            return ChannelState("email", None, None, False, proven, tuple(e for e in emails if e not in proven))
        if conv.channel == "web":
            # Live chat has no window: a message waits in the conversation until the visitor is back.
            # An address typed into the widget is the visitor's word only, as on WhatsApp, until they
            # proved it with the code mailed there (handoff/livechat.py).
            from handoff.livechat import visitor

            given = visitor(conn, conv.customer)
            proven = (given.email.lower(),) if given and given.email and given.email_verified else ()
            typed = ((given.email.lower(),) if given and given.email else ()) + emails
            return ChannelState("web", None, None, False, proven, tuple(a for a in dict.fromkeys(typed) if a not in proven))
        last = _last_inbound(conn, conv.customer)
        closes = last + WINDOW if last else None
        # A WhatsApp customer has written from no address: whatever they typed is unproven.
        return ChannelState(conv.channel, bool(closes and now < closes), closes,
                            bool(self.settings.whatsapp.template_content_sid), (), emails)

    # -- actions ------------------------------------------------------------------------
    def claim(self, now: datetime, ref: str, agent: str, *, take_over: bool = False) -> Ticket:
        return queue.claim(self.store, now, ref, agent, take_over=take_over)

    def release(self, now: datetime, ref: str, agent: str) -> None:
        queue.release(self.store, now, ref, agent)
        balance_after(self, now)  # [desk] auto_assign: the agent has room again (bot/desk_assign.py)

    def reply(self, now: datetime, ref: str, agent: str, text: str) -> Sent:
        text = _clean(text)

        def send(tx: Transaction, ticket: Ticket, conv: Conversation, state: ChannelState) -> int:
            if not state.free_text_ok:
                raise QueueError(*_window_closed(state))
            return queue_message(tx, conv, text, ticket.ref, author=agent, email_address=self._from())
        return self._person_sends(now, ref, agent, "agent.replied", send, text)

    def send_template(self, now: datetime, ref: str, agent: str) -> Sent:
        sid = self.settings.whatsapp.template_content_sid

        def send(tx: Transaction, ticket: Ticket, conv: Conversation, state: ChannelState) -> int:
            if conv.channel != "whatsapp":
                raise QueueError(f"{ticket.ref} is a {conv.channel} conversation: templates are for WhatsApp",
                                 f"{ticket.ref} adalah percakapan {_CHANNEL_ID.get(conv.channel, conv.channel)}: "
                                 "template hanya untuk WhatsApp.")
            if not sid:
                raise QueueError("no WhatsApp template configured ([whatsapp] template_content_sid)",
                                 "Template WhatsApp belum dikonfigurasi ([whatsapp] template_content_sid).")
            return queue_template(tx, conv, sid, {"1": ticket.ref}, TEMPLATE_TEXT.format(ref=ticket.ref),
                                  ticket.ref, author=agent)
        return self._person_sends(now, ref, agent, "agent.sent_template", send)

    def email_customer(self, now: datetime, ref: str, agent: str, text: str, address: str) -> Sent:
        text = _clean(text)
        address = address.strip().lower()

        def send(tx: Transaction, ticket: Ticket, conv: Conversation, state: ChannelState) -> int:
            if address not in state.any_address:
                raise QueueError(f"{address or 'that address'} is not an email address this customer gave us",
                                 "Alamat email itu tidak pernah diberikan oleh pelanggan ini.")
            if conv.channel == "email":
                return queue_message(tx, conv, text, ticket.ref, author=agent, email_address=self._from())
            return queue_email_to(tx, conv, address, text, ticket.ref, author=agent, email_address=self._from())
        return self._person_sends(now, ref, agent, "agent.emailed", send, text)

    def _person_sends(self, now: datetime, ref: str, agent: str, event: str,
                      send: Callable[[Transaction, Ticket, Conversation, ChannelState], int],
                      text: str | None = None) -> Sent:
        """One message from the agent holding the ticket, in one transaction: queued by
        `send`, stopping the first-response timer, logged. The same `text` sent again
        within a minute (a double click, a resubmitted form) reaches the customer once."""
        self._who(agent)
        with self.store.write(now) as tx:
            ticket, conv = queue.holding(tx, ref, agent)
            if text is not None:
                repeated = _just_sent(tx, conv.id, agent, text, now)
                if repeated is not None:
                    return Sent(repeated, repeat=True)
            outbox_id = send(tx, ticket, conv, self._channel_state(tx.conn, conv, ticket, now))
            self._first_response(tx, ticket, now, agent)
            tx.log_event(event, agent, conversation_id=conv.id, ticket_ref=ticket.ref, data={"outbox_id": outbox_id})
        return Sent(outbox_id)

    def resolve(self, now: datetime, ref: str, agent: str, note: str | None = None, *,
                email_to: str | None = None, no_reply: bool = False) -> Ticket:
        """Close the ticket and ask the customer one satisfaction question. An escalation
        needs a written result, which the policy promises the customer: it is sent on a
        channel that reaches them (their own channel while it can take free text, else
        the template), or by email to `email_to`, an address the agent picked explicitly
        among those the customer gave.

        A ticket no person ever answered is closed only when the agent confirms it
        (`no_reply`: spam, a customer who said never mind): then no satisfaction question
        is asked (nobody helped) and the first response stays unanswered, never "met"."""
        self._who(agent)
        note = _clean(note) if note and note.strip() else None
        email_to = (email_to or "").strip().lower() or None
        with self.store.write(now) as tx:
            ticket, conv = queue.holding(tx, ref, agent)
            state = self._channel_state(tx.conn, conv, ticket, now)
            unanswered = ticket.priority != "escalation" and _unanswered(tx, ticket)
            if unanswered and not no_reply:
                raise QueueError(f"nobody has replied to the customer on {ticket.ref}: reply first, or confirm "
                                 "resolving without a reply (--no-reply)",
                                 f"Belum ada balasan petugas ke pelanggan di {ticket.ref}. Balas dulu, atau centang "
                                 "\u201cSelesaikan tanpa membalas pelanggan\u201d.")
            if ticket.priority == "escalation":
                if not note:
                    raise QueueError(f"{ticket.ref} is an escalation: resolving it needs the written result (--note)",
                                     f"{ticket.ref} adalah eskalasi: isi \u201cHasil tertulis untuk pelanggan\u201d sebelum menyelesaikan.")
                via, outbox_id = self._deliver_written(tx, conv, ticket, state, note, agent, email_to)
                self._first_response(tx, ticket, now, agent)
                # queued, not yet sent: the outbox logs outbound.sent (same outbox id) on delivery
                tx.log_event("escalation.result_queued", agent, conversation_id=conv.id, ticket_ref=ticket.ref,
                             data={"via": via, "outbox_id": outbox_id})
            tx.update_ticket(ticket, status="resolved", resolved_at=now)
            tx.update_conversation(conv.id, state="bot", agent=None)
            tx.log_event("ticket.resolved", agent, conversation_id=conv.id, ticket_ref=ticket.ref,
                         data={"note": bool(note), "internal_note": note if ticket.priority != "escalation" else None}
                         | ({"no_reply": True} if unanswered else {}))
            if state.free_text_ok and not unanswered:
                question = self.responder.render(conv.lang or "id", "csat_question", ref=ticket.ref)
                queue_message(tx, conv, question, ticket.ref, author="bot", email_address=self._from())
                tx.update_conversation(conv.id, csat_ticket=ticket.ref, csat_asked_at=now)
                tx.log_event("csat.asked", "bot", conversation_id=conv.id, ticket_ref=ticket.ref)
        balance_after(self, now)  # [desk] auto_assign: the agent has room again (bot/desk_assign.py)
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]

    def escalate(self, now: datetime, ref: str, agent: str, reason: str) -> Ticket:
        """Hand the ticket to the supervisors: an escalation, due within the policy's
        review time (2 working days), open for any supervisor to take. The customer is
        told when the written result will come, where a message can reach them."""
        who = self._who(agent)
        reason = (reason or "").strip()
        if not reason:
            raise QueueError("say why the ticket goes to a supervisor (--reason)",
                             "Tulis alasan eskalasi ke supervisor.")
        with self.store.write(now) as tx:
            ticket, conv = queue._locked_ticket(tx, ref)
            if ticket.status == "resolved":
                raise QueueError(f"{ticket.ref} is already resolved", f"{ticket.ref} sudah selesai.")
            if ticket.priority == "escalation":
                raise QueueError(f"{ticket.ref} is already an escalation", f"{ticket.ref} sudah berupa eskalasi ke supervisor.")
            if ticket.agent and ticket.agent != who.name:
                raise QueueError(f"{ticket.ref} is held by {ticket.agent}",
                                 f"{ticket.ref} sedang ditangani oleh {ticket.agent}.")
            due = self.calendar.add_working_days(now, self.review_working_days)
            changes: dict[str, Any] = dict(priority="escalation", status="open", agent=None, resolution_due=due,
                                           escalated_by=who.name, reply_since=None, reply_due=None, due_at=due)
            if ticket.first_response_at is None:
                # The customer still waits for a first answer: that promise stays as it was
                # (the review time is the resolution's), and it is the next deadline.
                first_due = ticket.first_response_due or ticket.due_at
                changes.update(first_response_due=first_due, due_at=min(first_due, due))
            tx.update_ticket(ticket, **changes)
            tx.update_conversation(conv.id, state="bot", agent=None)
            tx.log_event("ticket.escalated", who.name, conversation_id=conv.id, ticket_ref=ticket.ref,
                         data={"reason": reason, "due_at": due.isoformat()})
            state = self._channel_state(tx.conn, conv, ticket, now)
            if state.free_text_ok:
                text = self.responder.render(conv.lang or "id", "escalated_to_supervisor", ref=ticket.ref, when=due)
                queue_message(tx, conv, text, ticket.ref, author="bot", email_address=self._from())
        return self.store.ticket(ticket.ref)  # type: ignore[return-value]

    # -- steps --------------------------------------------------------------------------
    def _who(self, agent: str) -> queue.Agent:
        found = queue.get_agent(self.store, agent)
        if found is None:
            raise QueueError(f"no agent {agent} (add one with: yessindo-bot agent add {agent} --role agent "
                             "--password-stdin)", "Akun agen Anda tidak ditemukan.")
        return found

    def _from(self) -> str:
        return self.settings.email.address

    @staticmethod
    def _first_response(tx: Transaction, ticket: Ticket, now: datetime, agent: str) -> None:
        """A person answered: the first one stops the first-response timer, and any answer
        stops the next-reply timer; the queue then sorts the ticket by its resolution promise."""
        fresh = tx.conn.execute("SELECT first_response_at, first_response_due, resolution_due, due_at FROM tickets "
                                "WHERE id = ?", (ticket.id,)).fetchone()
        resolution = fresh["resolution_due"] or fresh["due_at"]
        if fresh["first_response_at"]:
            tx.update_ticket(ticket, reply_since=None, reply_due=None, due_at=resolution)
            return
        due = fresh["first_response_due"] or fresh["due_at"]
        tx.update_ticket(ticket, first_response_at=now, reply_since=None, reply_due=None, due_at=resolution)
        tx.log_event("ticket.first_response", agent, conversation_id=ticket.conversation_id, ticket_ref=ticket.ref,
                     data={"within_promise": tx.now <= due})

    def _deliver_written(self, tx: Transaction, conv: Conversation, ticket: Ticket, state: ChannelState,
                         text: str, agent: str, email_to: str | None = None) -> tuple[str, int]:
        """Queue the written result; (how it goes, its outbox id)."""
        if email_to is not None:
            if email_to not in state.any_address:
                raise QueueError(f"{email_to} is not an email address this customer gave us",
                                 "Alamat email itu tidak pernah diberikan oleh pelanggan ini.")
            if conv.channel == "email" and email_to == conv.customer:
                return "email", queue_message(tx, conv, text, ticket.ref, author=agent, email_address=self._from())
            return "email", queue_email_to(tx, conv, email_to, text, ticket.ref, author=agent,
                                           email_address=self._from())
        if state.free_text_ok:
            return conv.channel, queue_message(tx, conv, text, ticket.ref, author=agent, email_address=self._from())
        if state.template_available:
            flat = " ".join(text.split())[:900]
            return "template", queue_template(tx, conv, self.settings.whatsapp.template_content_sid,
                                              {"1": ticket.ref, "2": flat}, text, ticket.ref, author=agent)
        en, id_ = _window_closed(state)
        raise QueueError(en + ". The written result cannot reach the customer yet.",
                         id_ + ". Hasil tertulis belum bisa dikirim ke pelanggan.")


RESUBMIT_WINDOW = timedelta(seconds=60)


def _just_sent(tx: Transaction, conversation_id: int, agent: str, text: str, now: datetime) -> int | None:
    """The outbox id of the same text this agent sent here within the last minute, if any."""
    row = tx.conn.execute(
        "SELECT json_extract(meta, '$.outbox_id') FROM messages WHERE conversation_id = ? AND direction = 'out' "
        "AND author = ? AND text = ? AND created_at >= ? ORDER BY id DESC LIMIT 1",
        (conversation_id, agent, text, utc_iso(now - RESUBMIT_WINDOW))).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _unanswered(tx: Transaction, ticket: Ticket) -> bool:
    """No person has answered this ticket's customer yet (read inside the transaction)."""
    row = tx.conn.execute("SELECT first_response_at FROM tickets WHERE id = ?", (ticket.id,)).fetchone()
    return row is None or row[0] is None


def _clean(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise QueueError("the message is empty", "Pesan masih kosong.")
    if len(text) > 4000:
        raise QueueError(f"the message is too long ({len(text)} characters; at most 4,000)",
                         f"Pesan terlalu panjang ({len(text)} karakter; maksimal 4.000).")
    return text


def _window_closed(state: ChannelState) -> tuple[str, str]:
    """Why free text cannot go, and what can instead: (English, Indonesian)."""
    en, id_ = [], []
    if state.template_available:
        en.append("send the WhatsApp template")
        id_.append("kirim template WhatsApp")
    if state.email_addresses:
        en.append("email " + ", ".join(state.email_addresses))
        id_.append("kirim email ke " + ", ".join(state.email_addresses))
    unproven = [a for a in state.mentioned_addresses if a not in state.email_addresses]
    if unproven:
        en.append("email an address the customer typed, if you are sure it is theirs (pick it explicitly: "
                  + ", ".join(unproven) + ")")
        id_.append("kirim email ke alamat yang diketik pelanggan bila Anda yakin itu miliknya (pilih sendiri: "
                   + ", ".join(unproven) + ")")
    return (("WhatsApp's 24-hour window is closed (the customer last wrote more than 24 hours ago): free text "
             "cannot be sent; " + (" or ".join(en) or "no template is configured and no email address is known")),
            ("Jendela 24 jam WhatsApp sudah tertutup (pelanggan terakhir menulis lebih dari 24 jam lalu); "
             + (" atau ".join(id_) or "belum ada template dan alamat email pelanggan")))
