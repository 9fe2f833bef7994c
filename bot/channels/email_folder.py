"""One pass over the IMAP folder, one mail at a time (the part of `EmailIntake` that
talks to IMAP and keeps the per-mail checkpoint; see `email_intake` for the whole story).

Envelopes first (RFC822.SIZE, From, Subject, Message-ID), then the bodies a few at a
time; each mail `in_progress` before its parse and `done` after (`email_uidstate`); a
mail that was cut off twice (the process died), or whose parse failed twice, is
quarantined; one on which the pipeline raised twice too, unless every mail of the pass
failed (then the fault is ours, not the mails'); after each group of bodies one STORE
\\Seen and the checkpoint.
"""
from __future__ import annotations

import logging
import os
import signal
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from bot.channels import email_uidstate as uidstate
from bot.channels.email_parse_worker import ParseFailed
from bot.logsafe import mask

log = logging.getLogger("yessindo.email.intake")

SEEN = b"\\Seen"
ENVELOPE_CHUNK = 100  # envelopes (size, From, Subject, Message-ID) fetched per command
GROUP_BYTES = 8 * 1024 * 1024  # bodies fetched a few at a time, at most this much at once...
GROUP_MAILS = 10  # ...and at most this many
MAX_MAIL_BYTES = 60 * 1024 * 1024  # larger mails are quarantined unread
CRASH_ENV = "YESSINDO_EMAIL_CRASH_AT"


def _body_groups(envelopes: list[uidstate.Envelope]) -> list[list[uidstate.Envelope]]:
    """Consecutive mails in groups of at most GROUP_MAILS and GROUP_BYTES (a large mail alone)."""
    groups: list[list[uidstate.Envelope]] = []
    size = 0
    for env in envelopes:
        if not groups or len(groups[-1]) >= GROUP_MAILS or size + env.size > GROUP_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(env)
        size += env.size
    return groups


def _crash_point(step: str, raw: bytes = b"") -> None:
    """`STEP` kills the process at that step of the first mail; `STEP@MARK` at that step of
    every mail containing MARK (a mail that kills the process each time it is read)."""
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, mark = spec.partition("@")
    if name == step and (not mark or mark.encode() in raw):
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class BatchSummary:
    fetched: int = 0
    answered: int = 0
    recorded: int = 0  # recorded without an answer (automatic, unparseable, silenced...)
    duplicates: int = 0
    failed: int = 0  # handling raised (retried once, then quarantined)
    quarantined: int = 0
    uidvalidity_changed: bool = False
    reasons: dict[str, int] = field(default_factory=dict)


class FolderPass:
    """Mixed into `EmailIntake`: needs `store`, `email`, `_now()` and `handle_raw()`."""

    store: Any
    email: Any

    # -- checkpoint ---------------------------------------------------------------------------
    def checkpoint(self, folder: str) -> tuple[int, int] | None:
        row = self.store.conn.execute("SELECT uidvalidity, last_uid FROM email_checkpoint WHERE folder = ?",
                                      (folder,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def _save_checkpoint(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        with self.store.write(self._now()) as tx:
            self._save_checkpoint_tx(tx, folder, uidvalidity, last_uid)

    @staticmethod
    def _save_checkpoint_tx(tx: Any, folder: str, uidvalidity: int, last_uid: int) -> None:
        tx.conn.execute(
            "INSERT INTO email_checkpoint (folder, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, "
            "last_uid = max(CASE WHEN email_checkpoint.uidvalidity = excluded.uidvalidity "
            "THEN email_checkpoint.last_uid ELSE 0 END, excluded.last_uid), updated_at = excluded.updated_at",
            (folder, uidvalidity, last_uid, tx.now))

    # -- one pass over the folder ---------------------------------------------------------------
    def process_folder(self, client: Any) -> BatchSummary:
        folder = self.email.imap_folder
        info = client.select_folder(folder)
        uidvalidity = int(info[b"UIDVALIDITY"])
        summary = BatchSummary()
        self._held: list[tuple[uidstate.Envelope, str]] = []
        cp = self.checkpoint(folder)
        if cp is not None and cp[0] != uidvalidity:
            summary.uidvalidity_changed = True
            with self.store.write(self._now()) as tx:
                tx.log_event("email.uidvalidity_changed", "email",
                             data={"folder": folder, "old": cp[0], "new": uidvalidity})
            cp = None
        if cp is None:
            uids = sorted(client.search(["UNSEEN"]))
            if not uids:
                # Nothing waiting: start from here so later mails are found by UID.
                last = max(client.search(["ALL"]) or [0])
                self._save_checkpoint(folder, uidvalidity, last)
        else:
            last = cp[1]
            uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        # Mails that failed, or were cut off by a dead process, once: one more try.
        uids = sorted(set(uids) | set(uidstate.retry_uids(self.store.conn, folder, uidvalidity)))
        for start in range(0, len(uids), ENVELOPE_CHUNK):
            chunk = uids[start:start + ENVELOPE_CHUNK]
            items = client.fetch(chunk, ["RFC822.SIZE", uidstate.HEADER_FIELDS])
            envelopes = [uidstate.envelope(uid, items[uid]) for uid in chunk if uid in items]
            gone = [uid for uid in chunk if uid not in items]
            del items
            if gone:  # expunged: a mail waiting for its retry is not waited for any more
                with self.store.write(self._now()) as tx:
                    for uid in gone:
                        if (uidstate.state(tx.conn, folder, uidvalidity, uid) or ("",))[0] in ("in_progress", "failed"):
                            uidstate.finish(tx, folder, uidvalidity, uid, "gone")
            for group in _body_groups([e for e in envelopes
                                       if self._admit(client, e, folder, uidvalidity, summary)]):
                bodies = client.fetch([e.uid for e in group], ["BODY.PEEK[]"])
                done: list[int] = []
                for env in group:
                    raw = bodies.pop(env.uid, {}).get(b"BODY[]")
                    if raw is None:
                        continue  # expunged meanwhile
                    summary.fetched += 1
                    if self._one(client, bytes(raw), env, folder, uidvalidity, summary):
                        done.append(env.uid)
                    del raw
                del bodies
                # One STORE for the group: a crash before it leaves `done` mails unread, and
                # the next pass (they are above the checkpoint) marks them \Seen unhandled.
                if done:
                    client.add_flags(done, [SEEN], silent=True)
                _crash_point("after_seen")
                self._advance(folder, uidvalidity, max(e.uid for e in group))
        self._settle_held(client, folder, uidvalidity, summary)
        return summary

    def _settle_held(self, client: Any, folder: str, uidvalidity: int, summary: BatchSummary) -> None:
        """Quarantine the mails that failed a second time, when the failure was theirs: other
        mails of this pass went through. When every mail failed, the fault is ours (a bug, a
        missing model...): nothing is quarantined, all are tried again on the next pass."""
        held, self._held = self._held, []
        if not held:
            return
        if summary.answered + summary.recorded + summary.duplicates == 0:
            log.error("every mail of this pass failed (%s); none quarantined, they are tried again", held[0][1])
            return
        for env, reason in held:
            self._quarantine(client, env, folder, uidvalidity, reason, summary, advance=False)

    def _admit(self, client: Any, env: uidstate.Envelope, folder: str, uidvalidity: int,
               summary: BatchSummary) -> bool:
        """False for a mail that is done, quarantined now or before, or too large to read."""
        conn = self.store.conn
        st = uidstate.state(conn, folder, uidvalidity, env.uid)
        reason = None
        if st is not None and st[0] in ("done", "quarantined"):
            client.add_flags([env.uid], [SEEN], silent=True)
            self._advance(folder, uidvalidity, env.uid)
            return False
        if env.message_id and conn.execute("SELECT 1 FROM email_inbox WHERE message_id = ?",
                                           (env.message_id,)).fetchone():
            # Handled before (a rescan): not even fetched, nothing of it kept again.
            summary.duplicates += 1
            client.add_flags([env.uid], [SEEN], silent=True)
            with self.store.write(self._now()) as tx:
                uidstate.begin(tx, folder, uidvalidity, env)
                uidstate.finish(tx, folder, uidvalidity, env.uid, "done", "duplicate")
                self._save_checkpoint_tx(tx, folder, uidvalidity, env.uid)
            return False
        if st is not None and st[0] == "in_progress" and st[1] >= uidstate.MAX_ATTEMPTS:
            reason = f"the process died {st[1]} times while handling it"
        elif uidstate.is_quarantined_id(conn, env.message_id):
            reason = "quarantined before (same Message-ID)"
        elif env.size > MAX_MAIL_BYTES:
            reason = f"too large to read ({env.size} bytes)"
        if reason is None:
            return True
        self._quarantine(client, env, folder, uidvalidity, reason, summary)
        return False

    def _quarantine(self, client: Any, env: uidstate.Envelope, folder: str, uidvalidity: int, reason: str,
                    summary: BatchSummary, *, advance: bool = True) -> None:
        log.error("mail uid %s quarantined: %s", env.uid, mask(reason))
        with self.store.write(self._now()) as tx:
            uidstate.quarantine(tx, folder, uidvalidity, env, mask(reason))
        client.add_flags([env.uid], [SEEN], silent=True)
        if advance:
            self._advance(folder, uidvalidity, env.uid)
        summary.quarantined += 1

    def _one(self, client: Any, raw: bytes, env: uidstate.Envelope, folder: str, uidvalidity: int,
             summary: BatchSummary) -> bool:
        """One mail, checkpointed on its own: in progress before the parse, done after.
        True when done (the caller marks it \\Seen and advances the checkpoint)."""
        with self.store.write(self._now()) as tx:
            attempt = uidstate.begin(tx, folder, uidvalidity, env)
        _crash_point("after_fetch", raw)
        try:
            self.handle_raw(raw, folder=folder, uidvalidity=uidvalidity, uid=env.uid, summary=summary)
        except sqlite3.Error:
            raise  # the database is the problem, not this mail: stop, the checkpoint stays
        except Exception as exc:  # noqa: BLE001 - this mail failed; the rest of the batch goes on
            reason = mask(f"{type(exc).__name__}: {exc}")[:300]
            log.warning("mail uid %s could not be handled (attempt %s): %s", env.uid, attempt, reason)
            summary.failed += 1
            if attempt >= uidstate.MAX_ATTEMPTS and isinstance(exc, ParseFailed):
                self._quarantine(client, env, folder, uidvalidity, f"failed {attempt} times: {reason}", summary,
                                 advance=False)
                return False
            # Tried again on the next pass (`retry_uids`), though the checkpoint moves on.
            with self.store.write(self._now()) as tx:
                uidstate.finish(tx, folder, uidvalidity, env.uid, "failed", reason)
            if attempt >= uidstate.MAX_ATTEMPTS:
                self._held.append((env, f"failed {attempt} times: {reason}"))
            return False
        with self.store.write(self._now()) as tx:
            uidstate.finish(tx, folder, uidvalidity, env.uid, "done")
        return True

    def _advance(self, folder: str, uidvalidity: int, uid: int) -> None:
        with self.store.write(self._now()) as tx:
            self._save_checkpoint_tx(tx, folder, uidvalidity, uid)
