"""The search index over tickets and conversations (SQLite FTS5), kept in sync by triggers.

Two indexes, both with the `unicode61 remove_diacritics 2` tokenizer (Indonesian and English):
- `search_messages`: message text, an external-content index over `messages` (rowid =
  messages.id): it holds only the index, never a second copy of what customers wrote. One
  cheap trigger insert per stored message (the webhook path pays only that).
- `search_facts`: one row per ticket (rowid = tickets.id) with what people look a ticket up
  by: its ref (and the ref's digits), phone numbers as national digits ("81234567890" for
  +6281234567890, so 0812..., +62812..., 62812... all meet there, prefixes too), customer id
  and emails, order numbers (as written and without dashes), names (the conversation's
  display name, recipient names, a live-chat visitor's name). Rebuilt for a ticket by
  triggers whenever its ref, details or customer change, when its conversation's display
  name changes, or when a live-chat visitor's contact changes.

Everything is derived from the base tables by triggers, so `forget` (which deletes and
scrubs the base rows) keeps the index consistent on its own; it must only leave these
tables out of its own text scrub (`TABLE_PREFIX`) and call `purge` so that no deleted
token survives in an old index segment (`optimize` rewrites the index; `secure_delete`
zeroes the freed pages).
"""
from __future__ import annotations

import sqlite3

TABLE_PREFIX = "search_"  # every table and shadow table of the index starts with this
TOKENIZE = "unicode61 remove_diacritics 2"
FACT_COLUMNS = ("ref", "phones", "ids", "orders", "names")


def _national(x: str) -> str:
    """SQL: an E.164 number as the digits people type after the 0 (+62812... -> 812...)."""
    return (f"CASE WHEN {x} LIKE '+62%' THEN substr({x}, 4) WHEN {x} LIKE '+%' THEN substr({x}, 2) "
            f"WHEN {x} GLOB '62[0-9]*' THEN substr({x}, 3) ELSE {x} END")


def _details_list(key: str, expr: str = "value") -> str:
    """SQL: the list `details.<key>` (order_numbers, phones, ...) as space-separated text."""
    return (f"(SELECT group_concat({expr}, ' ') FROM json_each(CASE WHEN json_valid(t.details) THEN t.details "
            f"ELSE '{{}}' END, '$.{key}') WHERE type = 'text')")


# The facts of the tickets matching {where}, as rows (rowid, ref, phones, ids, orders, names).
_FACTS_SELECT = (
    "SELECT t.id, "
    "coalesce(t.ref, '') || ' ' || coalesce(substr(t.ref, 4), '') || ' ' "
    "|| coalesce(CAST(CAST(substr(t.ref, 4) AS INTEGER) AS TEXT), ''), "
    f"coalesce(CASE WHEN t.customer LIKE '+%' THEN {_national('t.customer')} END, '') || ' ' "
    f"|| coalesce({_details_list('phones', _national('value'))}, '') || ' ' "
    f"|| coalesce({_national('v.phone_e164')}, ''), "
    "t.customer || ' ' || coalesce(" + _details_list("emails") + ", '') || ' ' || coalesce(v.email, ''), "
    "coalesce(" + _details_list("order_numbers") + ", '') || ' ' || coalesce("
    + _details_list("order_numbers", "replace(replace(value, '-', ''), '/', '')") + ", ''), "
    "coalesce(c.display_name, '') || ' ' || coalesce(" + _details_list("recipient_names") + ", '') || ' ' "
    "|| coalesce(v.name, '') "
    "FROM tickets t LEFT JOIN conversations c ON c.id = t.conversation_id "
    "LEFT JOIN livechat_visitors v ON v.customer = t.customer WHERE {where}"
)


def _facts_insert(where: str) -> str:
    return "INSERT INTO search_facts (rowid, ref, phones, ids, orders, names) " + _FACTS_SELECT.replace("{where}", where)


SCHEMA = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search_messages USING fts5(text, content='messages', content_rowid='id', "
    f"tokenize='{TOKENIZE}')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search_facts USING fts5({', '.join(FACT_COLUMNS)}, tokenize='{TOKENIZE}')",
    # messages: one index write per stored message, a delete/insert pair when `forget` scrubs a text
    "CREATE TRIGGER IF NOT EXISTS search_messages_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO search_messages (rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS search_messages_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO search_messages (search_messages, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS search_messages_au AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO search_messages (search_messages, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO search_messages (rowid, text) VALUES (new.id, new.text); END",
    # tickets: a new ticket gets its ref by a second statement (store.create_ticket), so the
    # row is written when the ref is there
    "CREATE TRIGGER IF NOT EXISTS search_facts_ai AFTER INSERT ON tickets WHEN new.ref IS NOT NULL BEGIN "
    + _facts_insert("t.id = new.id") + "; END",
    "CREATE TRIGGER IF NOT EXISTS search_facts_au AFTER UPDATE OF ref, details, customer ON tickets BEGIN "
    "DELETE FROM search_facts WHERE rowid = old.id; " + _facts_insert("t.id = new.id") + "; END",
    "CREATE TRIGGER IF NOT EXISTS search_facts_ad AFTER DELETE ON tickets BEGIN "
    "DELETE FROM search_facts WHERE rowid = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS search_facts_conv AFTER UPDATE OF display_name ON conversations "
    "WHEN old.display_name IS NOT new.display_name BEGIN "
    "DELETE FROM search_facts WHERE rowid IN (SELECT id FROM tickets WHERE conversation_id = new.id); "
    + _facts_insert("t.conversation_id = new.id") + "; END",
    # the customer panel (handoff/customers.py) finds the live-chat visitors who proved an address
    "CREATE INDEX IF NOT EXISTS idx_livechat_visitors_email ON livechat_visitors (lower(email))",
    "CREATE TRIGGER IF NOT EXISTS search_facts_visitor AFTER UPDATE OF name, email, phone_e164 ON livechat_visitors "
    "WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone_e164 IS NOT new.phone_e164 BEGIN "
    "DELETE FROM search_facts WHERE rowid IN (SELECT id FROM tickets WHERE customer = new.customer); "
    + _facts_insert("t.customer = new.customer") + "; END",
)


def _exists(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create (and on an upgrade, fill) the index. Idempotent; runs inside the migration's
    transaction, so an existing database is filled once, in two INSERT ... SELECTs."""
    fill = not _exists(conn, "search_messages")
    for statement in SCHEMA:
        conn.execute(statement)
    if fill:
        conn.execute("INSERT INTO search_messages (search_messages) VALUES ('rebuild')")
        conn.execute("DELETE FROM search_facts")
        conn.execute(_facts_insert("t.ref IS NOT NULL"))


def purge(conn: sqlite3.Connection) -> None:
    """Rewrite both indexes (after `forget`): an FTS5 delete only marks tokens deleted in a
    new segment; `optimize` merges the segments, so the deleted tokens are gone and the pages
    they were on are freed (and zeroed: the store runs with `secure_delete`)."""
    if _exists(conn, "search_messages"):
        conn.execute("INSERT INTO search_messages (search_messages) VALUES ('optimize')")
        conn.execute("INSERT INTO search_facts (search_facts) VALUES ('optimize')")
