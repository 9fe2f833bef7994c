"""The search index over tickets and conversations (SQLite FTS5), kept in sync by triggers.

Two indexes, both with the `unicode61 remove_diacritics 2` tokenizer (Indonesian and English):
- `search_messages`: the text of messages people wrote (customers and agents, not the bot's
  answers), an external-content index over `messages` (rowid = messages.id): it holds only
  the index, never a second copy of what customers wrote. Indexed from `search_pending`, one
  pending row per message (a webhook pays it once: for the customer's message, not the bot's answer).
- `search_facts`: one row per ticket (rowid = tickets.id) with what people look a ticket up
  by: its ref (and the ref's digits), phone numbers as national digits ("81234567890" for
  +6281234567890, so 0812..., +62812..., 62812... all meet there, prefixes too), customer id
  and emails, order numbers (as written and without dashes), names (the conversation's
  display name, recipient names, a live-chat visitor's name). Rebuilt for a ticket by
  triggers whenever its ref, details or customer change, when its conversation's display
  name changes, or when a live-chat visitor's contact changes.

Writes stay cheap: the triggers on messages and tickets only note the row in
`search_pending` (one small insert in the writer's own transaction); `catch_up` indexes
what is pending, in one statement per index, before a search runs. Deletions and text
changes of rows already indexed reach the index at once (the external-content index must
be told the old text while it is still there).

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


_PENDING_M = "(SELECT 1 FROM search_pending WHERE kind = 'm' AND id = {row}.id)"

SCHEMA = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search_messages USING fts5(text, content='messages', content_rowid='id', "
    f"tokenize='{TOKENIZE}')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search_facts USING fts5({', '.join(FACT_COLUMNS)}, tokenize='{TOKENIZE}')",
    # What changed since the index was last brought up to date: ('m', message id) to index,
    # ('t', ticket id) whose facts to rebuild. One small insert is all a webhook pays.
    "CREATE TABLE IF NOT EXISTS search_pending (kind TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (kind, id)) "
    "WITHOUT ROWID",
    # messages of people (customers and agents; not the bot's own answers, the same few texts
    # thousands of times). The external-content index must be told exactly what it holds: a
    # message still pending is not in it yet (nothing to delete), one indexed is.
    "CREATE TRIGGER IF NOT EXISTS search_messages_ai AFTER INSERT ON messages WHEN new.author IS NOT 'bot' BEGIN "
    "INSERT OR IGNORE INTO search_pending (kind, id) VALUES ('m', new.id); END",
    "CREATE TRIGGER IF NOT EXISTS search_messages_ad AFTER DELETE ON messages WHEN old.author IS NOT 'bot' BEGIN "
    "INSERT INTO search_messages (search_messages, rowid, text) SELECT 'delete', old.id, old.text "
    f"WHERE NOT EXISTS {_PENDING_M.format(row='old')}; "
    "DELETE FROM search_pending WHERE kind = 'm' AND id = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS search_messages_au AFTER UPDATE OF text, author ON messages BEGIN "
    "INSERT INTO search_messages (search_messages, rowid, text) SELECT 'delete', old.id, old.text "
    f"WHERE old.author IS NOT 'bot' AND NOT EXISTS {_PENDING_M.format(row='old')}; "
    "INSERT INTO search_messages (rowid, text) SELECT new.id, new.text "
    f"WHERE new.author IS NOT 'bot' AND NOT EXISTS {_PENDING_M.format(row='new')}; END",
    # tickets: facts rebuilt when the ref (set by a second statement in store.create_ticket),
    # details or customer change, or the conversation's display name, or a visitor's contact
    "CREATE TRIGGER IF NOT EXISTS search_facts_ai AFTER INSERT ON tickets WHEN new.ref IS NOT NULL BEGIN "
    "INSERT OR IGNORE INTO search_pending (kind, id) VALUES ('t', new.id); END",
    "CREATE TRIGGER IF NOT EXISTS search_facts_au AFTER UPDATE OF ref, details, customer ON tickets BEGIN "
    "INSERT OR IGNORE INTO search_pending (kind, id) VALUES ('t', new.id); END",
    "CREATE TRIGGER IF NOT EXISTS search_facts_ad AFTER DELETE ON tickets BEGIN "
    "DELETE FROM search_facts WHERE rowid = old.id; DELETE FROM search_pending WHERE kind = 't' AND id = old.id; END",
    "CREATE TRIGGER IF NOT EXISTS search_facts_conv AFTER UPDATE OF display_name ON conversations "
    "WHEN old.display_name IS NOT new.display_name BEGIN "
    "INSERT OR IGNORE INTO search_pending (kind, id) SELECT 't', id FROM tickets WHERE conversation_id = new.id; END",
    # the customer panel (handoff/customers.py) finds the live-chat visitors who proved an address
    "CREATE INDEX IF NOT EXISTS idx_livechat_visitors_email ON livechat_visitors (lower(email))",
    "CREATE TRIGGER IF NOT EXISTS search_facts_visitor AFTER UPDATE OF name, email, phone_e164 ON livechat_visitors "
    "WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.phone_e164 IS NOT new.phone_e164 BEGIN "
    "INSERT OR IGNORE INTO search_pending (kind, id) SELECT 't', id FROM tickets WHERE customer = new.customer; END",
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
        conn.execute("INSERT INTO search_messages (rowid, text) SELECT id, text FROM messages WHERE author IS NOT 'bot'")
        conn.execute("DELETE FROM search_facts")
        conn.execute(_facts_insert("t.ref IS NOT NULL"))


def pending(conn: sqlite3.Connection) -> bool:
    """Is anything waiting to be indexed? (One index probe.)"""
    return conn.execute("SELECT 1 FROM search_pending LIMIT 1").fetchone() is not None


def catch_up(conn: sqlite3.Connection, limit: int | None = None) -> int:
    """Index what is pending (at most `limit` rows), inside the caller's write transaction;
    returns how many pending rows were handled. Runs before a search and in `purge`."""
    import json

    rows = conn.execute("SELECT kind, id FROM search_pending" + (" LIMIT ?" if limit else ""),
                        (limit,) if limit else ()).fetchall()
    if not rows:
        return 0
    messages = json.dumps([r[1] for r in rows if r[0] == "m"])
    tickets = json.dumps([r[1] for r in rows if r[0] == "t"])
    conn.execute("INSERT INTO search_messages (rowid, text) SELECT id, text FROM messages "
                 "WHERE id IN (SELECT value FROM json_each(?)) AND author IS NOT 'bot' ORDER BY id", (messages,))
    conn.execute("DELETE FROM search_facts WHERE rowid IN (SELECT value FROM json_each(?))", (tickets,))
    conn.execute(_facts_insert("t.id IN (SELECT value FROM json_each(:ids)) AND t.ref IS NOT NULL"), {"ids": tickets})
    conn.execute("DELETE FROM search_pending WHERE kind = 'm' AND id IN (SELECT value FROM json_each(?))", (messages,))
    conn.execute("DELETE FROM search_pending WHERE kind = 't' AND id IN (SELECT value FROM json_each(?))", (tickets,))
    return len(rows)


def purge(conn: sqlite3.Connection) -> None:
    """Rewrite both indexes (after `forget`): an FTS5 delete only marks tokens deleted in a
    new segment; `optimize` merges the segments, so the deleted tokens are gone and the pages
    they were on are freed (and zeroed: the store runs with `secure_delete`)."""
    if _exists(conn, "search_messages"):
        catch_up(conn)
        conn.execute("INSERT INTO search_messages (search_messages) VALUES ('optimize')")
        conn.execute("INSERT INTO search_facts (search_facts) VALUES ('optimize')")
