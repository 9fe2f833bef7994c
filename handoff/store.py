"""The handoff store: conversations, messages both ways, tickets and an event log.

SQLite in WAL mode, so several server workers and the email poller share one
file. Every write goes through `Store.write()`: one short `BEGIN IMMEDIATE`
transaction in which the caller checks and changes what it needs, so two
workers can never both record the same inbound message or both claim a ticket.
Times are stored as UTC ISO 8601 strings (they sort as text); callers get
aware datetimes back.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    import sqlite_utils

    from handoff.write_gate import WriteGate

from bot.errors import StoreError
from handoff import filemodes

from handoff.records import (  # noqa: F401  (re-exported: the store's public names)
    CONVERSATION_STATES, PRIORITIES, TICKET_REF_RE, TICKET_STATUSES, Conversation, Ticket, _conversation,
    _has_table, _ticket, dump_json, parse_iso, ticket_ref, utc_iso,
)
from handoff.schema import SCHEMA_VERSION, migrate  # noqa: F401
from handoff.write_path import WritePath

# The columns a transaction may change after creation (the rest are fixed at insert).
_CONVERSATION_FIELDS = frozenset({"state", "agent", "lang", "unknown_streak", "menu_shown", "last_inbound_at",
                                  "display_name", "csat_ticket", "csat_asked_at", "dialogue"})
_TICKET_FIELDS = frozenset({"intent", "topic", "priority", "status", "agent", "due_at", "details", "resolved_at",
                            "first_response_due", "first_response_at", "resolution_due", "csat", "csat_at",
                            "escalated_by", "reply_since", "reply_due", "snoozed_until", "snoozed_by", "reopened_at"})


class Transaction:
    """The operations allowed inside one `Store.write()` block."""

    def __init__(self, conn: sqlite3.Connection, now: datetime) -> None:
        self.conn = conn
        self.now = utc_iso(now)

    # -- reads inside the transaction -------------------------------------------------
    def message_exists(self, channel: str, direction: str, external_id: str | None) -> bool:
        if not external_id:
            return False
        row = self.conn.execute(
            "SELECT 1 FROM messages WHERE channel = ? AND direction = ? AND external_id = ?",
            (channel, direction, external_id),
        ).fetchone()
        return row is not None

    def current_conversation(self, channel: str, customer: str) -> Conversation | None:
        row = self.conn.execute(
            "SELECT * FROM conversations WHERE channel = ? AND customer = ? AND state != 'closed' "
            "ORDER BY id DESC LIMIT 1",
            (channel, customer),
        ).fetchone()
        return _conversation(row) if row else None

    def thread_conversation(self, channel: str, customer: str, refs: tuple[str, ...],
                            subject: str | None) -> Conversation | None:
        """The conversation an email belongs to: by In-Reply-To/References (our messages'
        ids and the customer's), then by a ticket ref in the subject ("[YS-000123]"), then
        the sender's open conversation. Only ever one of this customer's conversations."""
        refs = tuple(r for r in refs if r)
        if refs:
            marks = ",".join("?" * len(refs))
            row = self.conn.execute(
                f"SELECT conversation_id FROM messages WHERE channel = ? AND customer = ? AND external_id IN ({marks}) "
                "ORDER BY id DESC LIMIT 1", (channel, customer, *refs)).fetchone()
            if row is None and _has_table(self.conn, "outbox"):
                row = self.conn.execute(
                    f"SELECT conversation_id FROM outbox WHERE channel = ? AND customer = ? AND provider_id IN ({marks}) "
                    "ORDER BY id DESC LIMIT 1", (channel, customer, *refs)).fetchone()
            if row is not None:
                # only a conversation of this channel and this customer: a reply to the email an
                # agent sent a WhatsApp or live-chat customer is an email conversation of its own
                # (stored, answered and delivered as email), not a message of that other channel
                found = self.conn.execute("SELECT * FROM conversations WHERE id = ? AND channel = ? AND customer = ?",
                                          (row[0], channel, customer)).fetchone()
                if found is not None:
                    return _conversation(found)
        m = TICKET_REF_RE.search(subject or "")
        if m:
            row = self.conn.execute(
                "SELECT c.* FROM tickets t JOIN conversations c ON c.id = t.conversation_id "
                "WHERE t.ref = ? AND c.channel = ? AND c.customer = ?", (m.group(1).upper(), channel, customer)).fetchone()
            if row is not None:
                return _conversation(row)
        return self.current_conversation(channel, customer)

    def auto_replies_since(self, channel: str, customer: str, since: datetime) -> int:
        return int(self.conn.execute(
            "SELECT count(*) FROM messages WHERE channel = ? AND customer = ? AND direction = 'out' "
            "AND author = 'bot' AND created_at >= ?", (channel, customer, utc_iso(since))).fetchone()[0])

    def open_ticket(self, conversation_id: int) -> Ticket | None:
        row = self.conn.execute(
            "SELECT * FROM tickets WHERE conversation_id = ? AND status != 'resolved' ORDER BY id DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
        return _ticket(row) if row else None

    # -- writes ----------------------------------------------------------------------
    def create_conversation(self, channel: str, customer: str, lang: str, display_name: str | None) -> Conversation:
        row = self.conn.execute(
            "INSERT INTO conversations (channel, customer, display_name, state, lang, unknown_streak, "
            "menu_shown, created_at, updated_at) VALUES (?, ?, ?, 'bot', ?, 0, 0, ?, ?) RETURNING *",
            (channel, customer, display_name, lang, self.now, self.now),
        ).fetchone()
        self.log_event("conversation.created", "bot", conversation_id=row["id"], data={"channel": channel})
        return _conversation(row)

    def _update(self, table: str, row_id: int, allowed: frozenset[str], changes: dict[str, Any]) -> None:
        bad = set(changes) - allowed
        if bad:
            raise ValueError(f"cannot change {table} fields {sorted(bad)}")
        encoded = {}
        for key, value in changes.items():
            if isinstance(value, datetime):
                value = utc_iso(value)
            elif isinstance(value, (dict, list)):
                value = dump_json(value)
            encoded[key] = value
        encoded["updated_at"] = self.now
        cols = ", ".join(f"{k} = ?" for k in encoded)
        self.conn.execute(f"UPDATE {table} SET {cols} WHERE id = ?", (*encoded.values(), row_id))

    def update_conversation(self, conversation_id: int, **changes: Any) -> None:
        self._update("conversations", conversation_id, _CONVERSATION_FIELDS, changes)

    def add_message(
        self,
        conversation: Conversation,
        direction: str,
        text: str,
        *,
        author: str,
        external_id: str | None = None,
        intent: str | None = None,
        confidence: float | None = None,
        attachments: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO messages (conversation_id, direction, channel, customer, author, external_id, text, "
            "intent, confidence, attachments, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation.id, direction, conversation.channel, conversation.customer, author, external_id,
                text, intent, confidence, dump_json(attachments or []),
                dump_json(meta or {}), utc_iso(at) if at else self.now,
            ),
        )
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def link_last_answer(self, conversation_id: int, outbox_id: int) -> None:
        """Tie the bot's answer just recorded in this conversation to the outbox row that
        delivers it (the console shows that row's delivery status on the message)."""
        self.conn.execute(
            "UPDATE messages SET meta = json_set(coalesce(meta, '{}'), '$.outbox_id', ?) WHERE id = ("
            "SELECT max(id) FROM messages WHERE conversation_id = ? AND direction = 'out' AND author = 'bot')",
            (outbox_id, conversation_id))

    def create_ticket(
        self,
        conversation: Conversation,
        *,
        intent: str,
        priority: str,
        due_at: datetime,
        details: dict[str, Any],
        summary: str,
        resolution_due: datetime | None = None,
        topic: str | None = None,
    ) -> Ticket:
        """`due_at` is the first-response promise; `resolution_due` (default: the same) the
        promise to have it solved. Both sit on the business-hours calendar (handoff/sla.py)."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        resolution_due = max(resolution_due or due_at, due_at)
        ticket_id = next_ticket_id(self.conn)
        ref = ticket_ref(ticket_id)
        row = self.conn.execute(
            "INSERT INTO tickets (id, ref, conversation_id, channel, customer, intent, topic, priority, status, due_at, "
            "created_at, updated_at, details, summary, first_response_due, resolution_due) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                ticket_id, ref, conversation.id, conversation.channel, conversation.customer, intent, topic, priority,
                utc_iso(due_at), self.now, self.now, dump_json(details), summary,
                utc_iso(due_at), utc_iso(resolution_due),
            ),
        ).fetchone()
        self.log_event("ticket.created", "bot", conversation_id=conversation.id, ticket_ref=ref,
                       data={"intent": intent, "topic": topic, "priority": priority, "due_at": utc_iso(due_at)})
        return _ticket(row)

    def update_ticket(self, ticket: Ticket, **changes: Any) -> None:
        self._update("tickets", ticket.id, _TICKET_FIELDS, changes)

    # --- outbox: delegates to handoff/outbox.py ---
    def enqueue_outbound(
        self,
        conversation: Conversation,
        body: str,
        *,
        kind: str = "text",
        ticket_ref: str | None = None,
        content_sid: str | None = None,
        content_variables: dict[str, Any] | None = None,
    ) -> int:
        """Queue one outbound message in THIS transaction (it commits or rolls back with the change)."""
        from handoff.outbox import enqueue

        return enqueue(self, conversation, body, kind=kind, ticket_ref=ticket_ref, content_sid=content_sid,
                       content_variables=content_variables)
    # --- end outbox ---

    def log_event(
        self,
        kind: str,
        actor: str,
        *,
        conversation_id: int | None = None,
        ticket_ref: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO events (at, kind, actor, conversation_id, ticket_ref, data) VALUES (?, ?, ?, ?, ?, ?)",
            (self.now, kind, actor, conversation_id, ticket_ref, dump_json(data or {})),
        )


class Store(WritePath):
    """One SQLite database file. Open one `Store` per process (or thread)."""

    def __init__(self, path: str | Path, *, create: bool = True, group: str | int | None = None) -> None:
        """`group` (`[storage] group`): the files are 0640 and owned by that group;
        without it 0600, owner only (handoff/filemodes.py)."""
        self.path = str(path)
        try:
            gid = filemodes.group_id(group)
        except KeyError:
            raise StoreError(f"database {self.path}: [storage] group {group!r} does not exist") from None
        try:
            if self.path != ":memory:":
                parent = Path(self.path).resolve().parent
                if not parent.exists():
                    if not create:
                        raise StoreError(f"database {self.path}: folder {parent} does not exist")
                    filemodes.make_private_dir(parent, gid)
                if create:
                    try:
                        filemodes.create_private(self.path, gid)
                    except PermissionError:
                        pass  # a folder we cannot write to: SQLite's own error says so below
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            # Deleted rows are overwritten with zeros, not left in free space (`forget`).
            conn.execute("PRAGMA secure_delete = ON")
            self.conn = conn
            self._db: Any = None
            self.gid = gid
            self.gate: WriteGate | None = None  # set by `serve` on the pipeline's store
            self._init_write_path()  # write(), batch(), reading(): handoff/write_path.py
            if create:
                self._migrate()
            else:
                conn.execute("SELECT count(*) FROM tickets").fetchone()
            if self.path != ":memory:":
                filemodes.secure_database(self.path, gid)
        except sqlite3.Error as exc:
            raise StoreError(describe_sqlite_error(self.path, exc)) from None
        except PermissionError as exc:
            raise StoreError(f"database {self.path}: cannot set its owner group or mode ({exc.strerror})") from None

    @property
    def db(self) -> "sqlite_utils.Database":
        """sqlite-utils over the same connection, for migrations and tests. Imported on
        first use: a `queue list` on an up-to-date database never needs it (~40 ms)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def _migrate(self) -> None:
        migrate(self.conn, self.path, lambda: self.db)

    # -- privacy -----------------------------------------------------------------------
    def forget(self, customer: str | list[str], now: datetime, actor: str = "operator") -> dict[str, int]:
        """Erase one customer (or several ids of one person) completely: handoff/forget.py.
        Leaves one event with the counts, without the customer id."""
        from handoff.forget import forget

        return forget(self, [customer] if isinstance(customer, str) else list(customer), now, actor)

    # -- reads -------------------------------------------------------------------------
    def tickets(self, status: str | None = None, limit: int | None = None) -> list[Ticket]:
        sql = "SELECT * FROM tickets"
        params: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY due_at, id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [_ticket(r) for r in self.conn.execute(sql, params)]

    def tickets_json(self, status: str | None, utc_offset: timedelta) -> Iterator[str]:
        """`Ticket.as_json` of every ticket (most urgent first), one JSON text per ticket,
        built by SQLite itself: `queue list --json` over 100,000 tickets without making
        100,000 Python objects. Times are shown at `utc_offset` (the caller checks that the
        zone has one fixed offset, as Asia/Jakarta has since 1964)."""
        minutes = int(utc_offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        shift = f"{minutes:+d} minutes"

        def when(col: str) -> str:
            return f"CASE WHEN {col} IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%S', {col}, :shift) || :suffix END"

        fields = ", ".join([
            "'ref', ref", "'channel', channel", "'customer', customer", "'intent', intent", "'topic', topic",
            "'priority', priority", "'status', status", "'agent', agent",
            f"'due_at', {when('due_at')}", f"'created_at', {when('created_at')}",
            f"'first_response_due', {when('first_response_due')}", f"'first_response_at', {when('first_response_at')}",
            f"'resolution_due', {when('resolution_due')}", f"'resolved_at', {when('resolved_at')}",
            f"'reply_due', {when('reply_due')}", "'csat', csat", "'details', json(coalesce(details, '{}'))",
        ])
        sql = f"SELECT json_object({fields}) FROM tickets"
        params: dict[str, Any] = {"shift": shift, "suffix": suffix}
        if status:
            sql += " WHERE status = :status"
            params["status"] = status
        for (text,) in self.conn.execute(sql + " ORDER BY due_at, id", params):
            yield text

    def ticket(self, ref: str) -> Ticket | None:
        row = self.conn.execute("SELECT * FROM tickets WHERE ref = ?", (ref,)).fetchone()
        return _ticket(row) if row else None

    def conversation(self, conversation_id: int) -> Conversation | None:
        row = self.conn.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return _conversation(row) if row else None

    def messages(self, conversation_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        ).fetchall()
        return [dict(r) for r in rows]

    def events(self, kind: str | None = None, *, actor: str | None = None, ticket_ref: str | None = None,
               since: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """The audit trail, oldest first (with `limit`: the newest `limit`, oldest first)."""
        sql, params = "SELECT * FROM events WHERE 1 = 1", []  # type: tuple[str, list[Any]]
        for clause, value in (("kind = ?", kind), ("actor = ?", actor), ("ticket_ref = ?", ticket_ref),
                              ("at >= ?", utc_iso(since) if since else None)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        if limit:
            rows = self.conn.execute(f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) ORDER BY id", (*params, limit))
        else:
            rows = self.conn.execute(sql + " ORDER BY id", params)
        return [dict(r) for r in rows]

    # --- outbox: delegates to handoff/outbox.py ---
    def outbox(self, *, conversation_id: int | None = None, status: str | None = None,
               customer: str | None = None) -> list[dict[str, Any]]:
        from handoff.outbox import outbox_rows

        return outbox_rows(self, conversation_id=conversation_id, status=status, customer=customer)
    # --- end outbox ---

    def ping(self) -> bool:
        try:
            self.conn.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self.conn.close()
        self._close_reader()
        if self.gate is not None:
            self.gate.close()


def _delete_outbox(conn: sqlite3.Connection, ids: list[int]) -> int:
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        if _has_table(conn, "email_outbound"):
            conn.execute(f"DELETE FROM email_outbound WHERE outbox_id IN ({marks})", chunk)
        deleted += conn.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk).rowcount
    return deleted


def delete_conversations(tx: Transaction, ids: list[int]) -> dict[str, int]:
    """Delete these conversations with everything that belongs to them: messages,
    tickets, events, outbox rows with their mail headers, console presence, agents' notes
    and notifications about them, their tickets' labels. The one
    deletion path of `forget` and of retention; returns the counts per kind."""
    conn = tx.conn
    counts = {"conversations": 0, "messages": 0, "tickets": 0, "events": 0, "outbox": 0, "presence": 0, "files": 0,
              "notes": 0, "notifications": 0}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        m = ",".join("?" * len(chunk))
        refs = [r[0] for r in conn.execute(f"SELECT ref FROM tickets WHERE conversation_id IN ({m})", chunk)]
        counts["events"] += conn.execute(f"DELETE FROM events WHERE conversation_id IN ({m})", chunk).rowcount
        for r in range(0, len(refs), 500):
            part = refs[r:r + 500]
            counts["events"] += conn.execute(
                f"DELETE FROM events WHERE ticket_ref IN ({','.join('?' * len(part))})", part).rowcount
        if _has_table(conn, "outbox"):
            outbox_ids = [r[0] for r in conn.execute(f"SELECT id FROM outbox WHERE conversation_id IN ({m})", chunk)]
            counts["outbox"] += _delete_outbox(conn, outbox_ids)
        if _has_table(conn, "presence"):
            counts["presence"] += conn.execute(f"DELETE FROM presence WHERE conversation_id IN ({m})", chunk).rowcount
        if _has_table(conn, "attachment_blobs"):
            counts["files"] += conn.execute(
                f"DELETE FROM attachment_blobs WHERE conversation_id IN ({m})", chunk).rowcount
        counts["messages"] += conn.execute(f"DELETE FROM messages WHERE conversation_id IN ({m})", chunk).rowcount
        # the agents' private notes on these tickets and the notifications about them (issue 12)
        for table, key in (("ticket_notes", "notes"), ("notifications", "notifications")):
            if _has_table(conn, table):
                counts[key] += conn.execute(f"DELETE FROM {table} WHERE conversation_id IN ({m})", chunk).rowcount
        if _has_table(conn, "ticket_labels"):  # their tickets' labels (bot/desk_triage.py)
            conn.execute(f"DELETE FROM ticket_labels WHERE ticket_id IN (SELECT id FROM tickets WHERE conversation_id "
                         f"IN ({m}))", chunk)
        _keep_ticket_ids_used(conn, conn.execute(f"SELECT max(id) FROM tickets WHERE conversation_id IN ({m})",
                                                 chunk).fetchone()[0])
        counts["tickets"] += conn.execute(f"DELETE FROM tickets WHERE conversation_id IN ({m})", chunk).rowcount
        counts["conversations"] += conn.execute(f"DELETE FROM conversations WHERE id IN ({m})", chunk).rowcount
    return counts


# The highest ticket id ever deleted (`forget`, retention): a ticket number is never given
# to a second case, so "YS-000123" in a forgotten customer's mail names no one else's.
TICKET_ID_FLOOR = "ticket_id_floor"


def next_ticket_id(conn: sqlite3.Connection) -> int:
    """The id (and so the YS- number) of the next ticket: past every ticket there is and
    every one deleted. Inside a write transaction, so no other writer takes it meanwhile."""
    row = conn.execute("SELECT max(coalesce((SELECT max(id) FROM tickets), 0), coalesce((SELECT CAST(value AS "
                       "INTEGER) FROM meta WHERE key = ?), 0))", (TICKET_ID_FLOOR,)).fetchone()
    return int(row[0]) + 1


def _keep_ticket_ids_used(conn: sqlite3.Connection, highest_deleted: int | None) -> None:
    if highest_deleted is not None:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                     "max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", (TICKET_ID_FLOOR, str(highest_deleted)))


def describe_sqlite_error(path: str, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return f"database {path} is read-only: the bot cannot record messages (check the file's permissions)"
    if "unable to open" in text:
        return f"database {path} cannot be opened (check the path and permissions)"
    if "locked" in text or "busy" in text:
        return f"database {path} is busy (another process holds a long write lock)"
    if "not a database" in text or "malformed" in text:
        return f"database {path} is not a valid SQLite database ({text})"
    return f"database {path}: {text}"
