"""Schema version 7: the agent's desk (issue 12). Saved replies, private notes and the
notifications they raise, labels, snooze and assignment columns, agents' online status,
customer links. Every statement is idempotent (called inside the migration's one
`BEGIN IMMEDIATE`); the search index has its own module (handoff/search_index.py)."""
from __future__ import annotations

import sqlite3

from handoff.records import _has_table

SCHEMA = (
    # saved replies: one text per (shortcut, language); `{nama}` etc. filled at send time
    "CREATE TABLE IF NOT EXISTS canned_replies (id INTEGER PRIMARY KEY, shortcut TEXT NOT NULL, "
    "lang TEXT NOT NULL DEFAULT 'id', title TEXT, text TEXT NOT NULL, created_by TEXT, created_at TEXT NOT NULL, "
    "updated_at TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_canned_shortcut_lang ON canned_replies (shortcut, lang)",
    # private notes on a ticket: agents only, never sent; `mentions` a JSON list of agent names
    "CREATE TABLE IF NOT EXISTS ticket_notes (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL, "
    "ticket_ref TEXT NOT NULL, conversation_id INTEGER NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL, "
    "mentions TEXT, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS idx_ticket_notes_ticket ON ticket_notes (ticket_id, id)",
    "CREATE INDEX IF NOT EXISTS idx_ticket_notes_conversation ON ticket_notes (conversation_id)",
    # what an agent is told: a mention, a new ticket, a customer's message, a promise about to be missed
    "CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY, agent TEXT NOT NULL, kind TEXT NOT NULL, "
    "ticket_ref TEXT, conversation_id INTEGER, actor TEXT, text TEXT, created_at TEXT NOT NULL, read_at TEXT)",
    "CREATE INDEX IF NOT EXISTS idx_notifications_agent ON notifications (agent, id)",
    "CREATE INDEX IF NOT EXISTS idx_notifications_conversation ON notifications (conversation_id)",
    # labels: made by supervisors, several per ticket
    "CREATE TABLE IF NOT EXISTS labels (name TEXT PRIMARY KEY, color TEXT, created_by TEXT, created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ticket_labels (ticket_id INTEGER NOT NULL, label TEXT NOT NULL, added_by TEXT, "
    "added_at TEXT NOT NULL, PRIMARY KEY (ticket_id, label))",
    "CREATE INDEX IF NOT EXISTS idx_ticket_labels_label ON ticket_labels (label, ticket_id)",
    # the same person on two channels (a WhatsApp number and an email address), linked by an
    # agent (logged) or by the customer's own proof; `a` < `b` so a pair is stored once
    "CREATE TABLE IF NOT EXISTS customer_links (id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT NOT NULL, "
    "via TEXT NOT NULL, linked_by TEXT, created_at TEXT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_customer_links_pair ON customer_links (a, b)",
    "CREATE INDEX IF NOT EXISTS idx_customer_links_b ON customer_links (b)",
)
# Notifications (handoff/notifications.py): up to which ticket id an agent has looked at
# the new tickets in the queue ("new since I last looked").
SCHEMA += ("CREATE TABLE IF NOT EXISTS notification_marks (agent TEXT PRIMARY KEY, "
           "tickets_seen INTEGER NOT NULL DEFAULT 0, seen_at TEXT)",)
# Columns added by schema version 7.
COLUMNS = {
    # snooze ("waiting for the customer") until a reply or a time; the last reopen
    "tickets": {"snoozed_until": "TEXT", "snoozed_by": "TEXT", "reopened_at": "TEXT"},
    # online / away, the per-agent limit of open tickets for automatic assignment, and a
    # generated password that must be changed at the first login
    "agents": {"status": "TEXT", "status_at": "TEXT", "max_open": "INTEGER", "must_change_password": "INTEGER"},
}
# Assignment (bot/desk_assign.py): when an agent was last given a ticket (round robin,
# least recently assigned first), and snoozed tickets found by when they wake up.
COLUMNS["agents"]["last_assigned_at"] = "TEXT"
AFTER_COLUMNS = (
    "CREATE INDEX IF NOT EXISTS idx_tickets_snoozed ON tickets (snoozed_until) WHERE snoozed_by IS NOT NULL",
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    for table, columns in COLUMNS.items():
        if not _has_table(conn, table):
            continue
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    for statement in AFTER_COLUMNS:  # on columns added just above
        if _has_table(conn, "tickets"):
            conn.execute(statement)
