"""Email intake: IMAP mailbox -> `Bot.handle` -> email outbox -> SMTP, never losing or
double-answering a mail.

Per pass: the UIDs to read (above the checkpoint, plus mails that failed once), their
envelopes first (RFC822.SIZE, From, Subject, Message-ID: a few hundred bytes each), then
the bodies a few at a time (at most GROUP_MAILS / GROUP_BYTES per command, a large mail
alone), so memory holds a handful of mails, never a whole fetch.

Per mail, in this order (each step safe to repeat after a crash before the next):
0. checkpointed on its own (`email_uidstate`): `in_progress` (attempt + 1) before it is
   parsed, `done` after. A mail that failed, or was in progress when the process died,
   twice is quarantined (a pipeline error only when other mails of the pass went through:
   when every mail fails the fault is ours, see `email_folder`): recorded, marked \\Seen, never fetched again, listed in the
   console ("Email yang tidak bisa diproses"). The rest of the batch goes on.
1. fetched with `BODY.PEEK[]` (nothing is marked read), parsed in a child process with a
   time and memory budget (`email_parse_worker`; a parse over budget fails this mail only);
2. recorded once by Message-ID (a synthetic id when it has none) through `Bot.handle`,
   which drops a duplicate. Automatic mail (auto-replies, bounces, lists, our own,
   `automatic_reason`), unparseable mail and mail from an address that cannot be mailed
   carry `("no_auto_reply", reason)` in `Message.meta`: the pipeline records them and does
   not answer, and no attachment bytes are kept for them (`email_budget`: caps per mail and
   per sender per day for the others);
3. the bot's answer is queued in the outbox (channel "email") with its headers
   (`email_outbound`: Message-ID generated now, In-Reply-To, References, subject) and the
   mail is noted in `email_inbox`, inside the pipeline's own transaction (the `within`
   hook of `Bot.handle`): recorded, answered and queued commit together. Mail that gets
   no answer is noted right after. (A database written by an older version may hold a
   recorded mail without its queue entry: the rerun queues the answer the pipeline stored.)
4. the mail `done`; after each group of bodies, `\\Seen` set on the group's done mails
   (one STORE) and the checkpoint (folder, UIDVALIDITY, last UID) advanced;
5. the outbox delivers by SMTP (`email_smtp`), with its retries.

First run (no checkpoint) and after a UIDVALIDITY change: the UNSEEN mails are scanned
(a mailbox's old, read history is never answered); otherwise every UID above the
checkpoint. Dedupe by Message-ID makes a rescan answer nothing twice.

Test hook: `YESSINDO_EMAIL_CRASH_AT=STEP` (after_fetch|after_record|after_enqueue|after_seen)
kills the process (SIGKILL) at that step of the first mail, `STEP@MARK` at that step of
every mail containing MARK; `in_parse@MARK` / `hang_parse@MARK` act in the parser process.
Only for tests.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any, Callable

from bot.channels import email_budget as budget
from bot.channels import email_imap
from bot.channels import email_uidstate as uidstate
from bot.channels.email_address import unmailable_reason
from bot.channels.email_folder import (
    CRASH_ENV, ENVELOPE_CHUNK, GROUP_BYTES, GROUP_MAILS, MAX_MAIL_BYTES, SEEN, BatchSummary, FolderPass,
    _crash_point)
from bot.channels.email_loop import automatic_reason
from bot.channels.email_parse import ParsedMail, parse_mail
from bot.channels.email_parse_worker import ParseWorker, WorkerUnavailable
from bot.channels.email_smtp import EmailSender, queue_reply
from bot.channels.email_smtp import create_schema as create_outbound_schema
from bot.models import Message
from handoff.outbox import deliver_due
from handoff.store import Store, parse_iso

log = logging.getLogger("yessindo.email.intake")

DELIVER_BATCH = 500


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS email_checkpoint (folder TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, "
                 "last_uid INTEGER NOT NULL, updated_at TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS email_inbox (message_id TEXT PRIMARY KEY, folder TEXT, uidvalidity "
                 "INTEGER, uid INTEGER, sender TEXT, status TEXT NOT NULL, reason TEXT, outbox_id INTEGER, "
                 "created_at TEXT NOT NULL)")
    create_outbound_schema(conn)
    uidstate.create_schema(conn)
    budget.create_schema(conn)


def _note_inbox(tx: Any, mid: str, folder: str, uidvalidity: int, uid: int, sender: str, status: str,
                reason: str | None, outbox_id: int | None, *, or_ignore: bool = False) -> None:
    """Record what became of one fetched mail (the once-only guard of the intake)."""
    tx.conn.execute(
        f"INSERT {'OR IGNORE ' if or_ignore else ''}INTO email_inbox (message_id, folder, uidvalidity, uid, sender, "
        "status, reason, outbox_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (mid, folder, uidvalidity, uid, sender, status, reason, outbox_id, tx.now))


class EmailIntake(FolderPass):
    def __init__(self, settings: Any, bot: Any, *, clock: Callable[[], datetime] | None = None,
                 use_worker: bool = True) -> None:
        self.settings = settings
        self.parser: ParseWorker | None = ParseWorker() if use_worker else None
        self.email = settings.email
        self.bot = bot
        self.store: Store = bot.store
        self.clock = clock or bot.clock
        self.own = tuple(a.lower() for a in {self.email.address, self.email.imap_user, self.email.smtp_user} if a)
        with self.store.write(self._now()) as tx:
            create_schema(tx.conn)

    def _now(self) -> datetime:
        return datetime.now(timezone.utc)

    # -- one mail -------------------------------------------------------------------------------
    def handle_raw(self, raw: bytes, *, folder: str = "", uidvalidity: int = 0, uid: int = 0,
                   summary: BatchSummary | None = None) -> str:
        """Record one mail and queue its answer; returns what happened. Raises when the mail
        cannot be handled (its parse ran out of budget, the pipeline failed on it): the
        caller retries it once, then quarantines it."""
        summary = summary or BatchSummary()
        mail = self.parse(raw)
        del raw  # nothing below needs the raw bytes
        mid = mail.message_id
        if self.store.conn.execute("SELECT 1 FROM email_inbox WHERE message_id = ?", (mid,)).fetchone():
            summary.duplicates += 1
            return "duplicate"
        sender = (mail.sender or "").strip().lower()
        reason = None
        if not mail.parse_ok or not sender:
            reason = "unparseable"
        else:
            try:
                reason = automatic_reason(mail, self.own)
            except Exception as exc:  # never let the classifier stall the mailbox
                log.warning("automatic_reason failed on %s: %s", mid, exc)
            if not reason:
                bad = unmailable_reason(sender)
                reason = f"unmailable address: {bad}" if bad else None
        meta: list[tuple[str, str]] = [("imap", f"{folder}:{uidvalidity}:{uid}")]
        if reason:
            meta.append(("no_auto_reply", reason))
        if mail.problems:
            meta.append(("parse_problems", "; ".join(mail.problems)[:500]))
        received = self.clock()
        day = budget.day_of(received)
        # No bytes for a mail that is only recorded; per mail and per sender per day caps otherwise.
        attachments, kept, cut = budget.keep(
            mail.attachments, record_only=bool(reason), per_day=budget.per_sender_day(self.email),
            per_mail=budget.per_mail(self.email),
            used_today=budget.used(self.store.conn, sender, day) if mail.attachments and not reason else 0)
        if cut and not reason:
            meta.append(("attachments_not_kept", f"{cut} over the attachment size cap"))
        message = Message(
            channel="email", customer=sender or "unknown-sender@invalid", text=mail.new_text or "",
            received_at=received, external_id=mid, subject=mail.subject or None,
            display_name=mail.sender_name or None,
            attachments=attachments,
            thread_refs=tuple(r for r in (mail.in_reply_to, *mail.references) if r),
            meta=tuple(meta),
        )
        del attachments
        outcome = self.bot.handle(message, within=self._queue_answer(mail, mid, folder, uidvalidity, uid))
        del message
        if kept and outcome.status != "duplicate":
            with self.store.write(self._now()) as tx:
                budget.add_usage(tx, sender, day, kept)
        _crash_point("after_record")
        if outcome.status == "answered":
            status = "answered"  # queued and noted inside the pipeline's own transaction
        else:
            status = self._finish(mail, mid, sender, reason, outcome, folder, uidvalidity, uid)
        _crash_point("after_enqueue")
        if status == "answered":
            summary.answered += 1
        else:
            summary.recorded += 1
            key = reason or (outcome.notes[0] if outcome.status == "ignored" and outcome.notes
                             else outcome.status)
            summary.reasons[key] = summary.reasons.get(key, 0) + 1
        return status

    def _queue_answer(self, mail: Any, mid: str, folder: str, uidvalidity: int, uid: int):  # type: ignore[no-untyped-def]
        """The hook `Bot.handle` runs inside its transaction: the answer goes into the
        outbox, with its mail headers, and the mail is noted as handled, all in the same
        commit as the recorded message and answer."""
        def queue(tx: Any, conv: Any, reply: Any, ticket_ref: str | None) -> None:
            outbox_id = queue_reply(tx, conv, reply.text, ticket_ref=ticket_ref, from_address=self.email.address,
                                    in_reply_to=mid, references=mail.references, subject=reply.subject, auto=True)
            tx.link_last_answer(conv.id, outbox_id)
            _note_inbox(tx, mid, folder, uidvalidity, uid, conv.customer, "answered", None, outbox_id)
        return queue

    def _finish(self, mail: Any, mid: str, sender: str, reason: str | None, outcome: Any,
                folder: str, uidvalidity: int, uid: int) -> str:
        """Note a mail the pipeline did not answer just now, in one transaction; for a mail
        recorded by an older version without its queue entry, queue the stored answer."""
        body, conv_id, ticket_ref, subject = None, outcome.conversation_id, outcome.ticket_ref, None
        if outcome.status == "duplicate" and reason is None:
            body, conv_id, ticket_ref, subject = self._stored_answer(mid, mail.subject)
        from bot.pipeline import reply_subject

        with self.store.write(self._now()) as tx:
            if tx.conn.execute("SELECT 1 FROM email_inbox WHERE message_id = ?", (mid,)).fetchone():
                return "duplicate"
            outbox_id = None
            if body and conv_id is not None:
                conv = self.store.conversation(conv_id)
                if conv is not None:
                    outbox_id = queue_reply(tx, conv, body, ticket_ref=ticket_ref, from_address=self.email.address,
                                            in_reply_to=mid, references=mail.references,
                                            subject=subject or reply_subject(mail.subject, ticket_ref), auto=True)
            status = "answered" if outbox_id else ("unparseable" if reason == "unparseable" else "recorded")
            # why it got no answer: ours (automatic, unmailable) or the pipeline's (a rate limit...)
            why = outcome.notes[0] if outcome.status == "ignored" and outcome.notes else outcome.status
            note = reason or (None if outbox_id else why)
            _note_inbox(tx, mid, folder, uidvalidity, uid, sender, status, note, outbox_id)
            if reason == "unparseable":
                # Flag for an agent: nothing usable came out of this mail.
                tx.log_event("email.unparseable", "email", conversation_id=conv_id,
                             data={"message_id": mid, "problems": list(mail.problems)[:10], "uid": uid})
            elif reason:
                tx.log_event("email.not_answered", "email", conversation_id=conv_id,
                             data={"message_id": mid, "reason": reason})
        return status

    def _stored_answer(self, mid: str, subject: str | None) -> tuple[str | None, int | None, str | None, str | None]:
        """After a crash between the pipeline's commit and ours: the answer the pipeline recorded."""
        conn = self.store.conn
        row = conn.execute("SELECT id, conversation_id FROM messages WHERE channel = 'email' AND direction = 'in' "
                           "AND external_id = ?", (mid,)).fetchone()
        if row is None:
            return None, None, None, None
        out = conn.execute("SELECT text FROM messages WHERE conversation_id = ? AND id > ? AND direction = 'out' "
                           "AND author = 'bot' ORDER BY id LIMIT 1", (row[1], row[0])).fetchone()
        nxt_in = conn.execute("SELECT min(id) FROM messages WHERE conversation_id = ? AND id > ? AND direction = 'in'",
                              (row[1], row[0])).fetchone()[0]
        if out is None:
            return None, row[1], None, None
        out_id = conn.execute("SELECT id FROM messages WHERE conversation_id = ? AND id > ? AND direction = 'out' "
                              "AND author = 'bot' ORDER BY id LIMIT 1", (row[1], row[0])).fetchone()[0]
        if nxt_in is not None and nxt_in < out_id:
            return None, row[1], None, None  # that answer belongs to a later mail
        ticket = conn.execute("SELECT ref FROM tickets WHERE conversation_id = ? AND status != 'resolved' "
                              "ORDER BY id DESC LIMIT 1", (row[1],)).fetchone()
        return out[0], row[1], ticket[0] if ticket else None, None

    def parse(self, raw: bytes) -> ParsedMail:
        """Parse in the budgeted child process (`email_parse_worker`); in this process when
        the intake was made without one (`use_worker=False`)."""
        limits = {"max_attachment_bytes_per_mail": budget.per_mail(self.email)}
        if self.parser is None:
            return parse_mail(raw, **limits)
        try:
            return self.parser.parse(raw, **limits)
        except WorkerUnavailable as exc:  # this machine, not this mail: go on without the child
            log.warning("%s; parsing in this process from now on", exc)
            self.parser = None
            return parse_mail(raw, **limits)

    def close(self) -> None:
        if self.parser is not None:
            self.parser.close()

    # -- delivery -------------------------------------------------------------------------------
    def deliver(self, sender: EmailSender | None = None) -> Any:
        own = sender is None
        sender = sender or EmailSender(self.email, self.store)
        try:
            # deliver_due handles at most `limit` rows per call: repeat until a call comes up short.
            total = deliver_due(self.store, sender, channel="email", limit=DELIVER_BATCH)
            while total.handled and len(total.ids) % DELIVER_BATCH == 0:
                more = deliver_due(self.store, sender, channel="email", limit=DELIVER_BATCH)
                if not more.handled:
                    break
                for name in ("sent", "reconciled", "retried", "failed", "refused"):
                    setattr(total, name, getattr(total, name) + getattr(more, name))
                total.ids.extend(more.ids)
            return total
        finally:
            if own:
                sender.close()

    def seconds_until_next_delivery(self, default: float) -> float:
        """Seconds until the next email outbox row is due (a retry or an expired lease), within [1, default]."""
        row = self.store.conn.execute(
            "SELECT min(CASE status WHEN 'pending' THEN next_attempt_at ELSE lease_until END) FROM outbox "
            "WHERE channel = 'email' AND status IN ('pending', 'sending')"
        ).fetchone()
        due = parse_iso(row[0]) if row and row[0] else None
        if due is None:
            return default
        return max(1.0, min(default, (due - self._now()).total_seconds()))

    # -- the commands -----------------------------------------------------------------------------
    def run_once(self) -> tuple[BatchSummary, Any]:
        client = email_imap.connect(self.email)
        try:
            summary = self.process_folder(client)
        finally:
            self.close()
            try:
                client.logout()
            except Exception:  # noqa: BLE001 - the work is done; a failed LOGOUT changes nothing
                pass
        return summary, self.deliver()

    def run_forever(self, *, stop: threading.Event | None = None, idle_seconds: float = 300.0,
                    poll_seconds: float = 30.0, max_backoff: float = 300.0,
                    on_batch: Callable[[BatchSummary], None] | None = None) -> None:
        """IDLE (or poll) until `stop` is set; reconnect with exponential backoff when the connection drops."""
        stop = stop or threading.Event()
        backoff = 1.0
        sender = EmailSender(self.email, self.store)
        try:
            while not stop.is_set():
                client = None
                try:
                    client = email_imap.connect(self.email)
                    idle = email_imap.has_idle(client)
                    backoff = 1.0
                    while not stop.is_set():
                        summary = self.process_folder(client)
                        self.deliver(sender)
                        if on_batch is not None:
                            on_batch(summary)
                        wait = self.seconds_until_next_delivery(idle_seconds if idle else poll_seconds)
                        email_imap.wait_for_mail(client, wait, poll=not idle)
                except (email_imap.IMAPSetupError,) as exc:
                    log.error("email intake stopped: %s", exc)
                    raise
                except Exception as exc:  # noqa: BLE001 - network, server, timeouts: reconnect
                    log.warning("IMAP connection problem (%s); reconnecting in %.0f s", exc, backoff)
                    sender.close()
                    stop.wait(backoff)
                    backoff = min(max_backoff, backoff * 2)
                finally:
                    if client is not None:
                        try:
                            client.logout()
                        except Exception:  # noqa: BLE001
                            pass
        finally:
            sender.close()
            self.close()


def build_intake(settings: Any, clock: Callable[[], datetime] | None = None) -> EmailIntake:
    from bot.assemble import build_bot

    return EmailIntake(settings, build_bot(settings, clock=clock))


__all__ = ["EmailIntake", "BatchSummary", "build_intake", "create_schema", "CRASH_ENV", "ENVELOPE_CHUNK",
           "GROUP_BYTES", "GROUP_MAILS", "MAX_MAIL_BYTES", "SEEN"]
