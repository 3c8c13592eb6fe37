"""The audit trail: every inbound and outbound message, booking change and refusal, hash-chained.

Each event stores its text encrypted and carries the hash of the event before it, so an edit or a
deletion anywhere breaks the chain at that point. The hash covers the previous hash, the event's
fields and a digest of the clear text (not the ciphertext), so re-encrypting under a new key keeps
the chain valid. Appends are serialized: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on
SQLite, and the primary key on `seq` as the last word. Each committed event is mirrored to
`logs/audit.log` with ids and hashes only.

Text does not stay forever: `remove_texts` replaces the text of old events (the retention job) or
of one patient's events (erasure) by the digest the hash covered, still encrypted, and records a
`texts_removed` event. The chain still verifies, and an edit of any other field still breaks it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy.orm import Session

from scheduler.crypto import Vault
from scheduler.models import AuditEvent

from . import logfiles

GENESIS = "0" * 64
# What a removed text becomes: this prefix and the SHA-256 digest of the text, encrypted. A
# message that itself began with it (a NUL is nothing a person types) would be hashed and
# verified the same way at every step, only shown as removed: nothing can pass as another text.
REMOVED = "\x00removed:"
_INSERT = insert(AuditEvent.__table__)
_TAIL = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_LOCK_KEY = 7_210_001  # the advisory lock that serializes audit appends on PostgreSQL


_HASHED = ("seq", "kind", "channel", "actor", "patient_id", "appointment_id", "message_id",
           "detail", "prev_hash")


def _text_digest(clear_text: str) -> str:
    if clear_text.startswith(REMOVED):
        return clear_text[len(REMOVED):]
    return hashlib.sha256(clear_text.encode()).hexdigest()


def _digest(fields: dict[str, Any], text_digest: str | None) -> str:
    body = {name: fields[name] for name in _HASHED}
    body["at"] = fields["at"].isoformat()
    body["detail"] = body["detail"] or {}
    body["text"] = text_digest
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fields(row: AuditEvent) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _HASHED + ("at",)}


# Called with the session and each event's fields (no text) as it is appended: how the staff
# notifier (bot/notices.py) learns what happened, to tell the team once the transaction commits.
Observer = Callable[[Session, dict[str, Any]], None]


class AuditTrail:
    def __init__(self, vault: Vault):
        self.vault = vault
        self.observers: list[Observer] = []

    def record(self, session: Session, kind: str, *, at: datetime, channel: str | None = None,
               actor: str | None = None, patient_id: int | None = None,
               appointment_id: int | None = None, message_id: str | None = None,
               detail: dict[str, Any] | None = None, text_: str | None = None) -> None:
        """Append one event to the caller's transaction.

        The event is written, chained, just before that transaction commits (`_append_buffered`):
        one locked read of the chain's end and one multi-row insert per transaction, however many
        events a turn records, and the append lock is held only for that moment.
        `detail` must hold no personal data: it is hashed, stored and shown in clear."""
        fields = {"at": at, "kind": kind, "channel": channel, "actor": actor,
                  "patient_id": patient_id, "appointment_id": appointment_id,
                  "message_id": message_id, "detail": detail or {}}
        for observer in self.observers:
            observer(session, fields)
        fields["text_digest"] = None if text_ is None else _text_digest(text_)
        fields["text_enc"] = self.vault.encrypt(text_)
        session.info.setdefault("audit_buffer", []).append(fields)

    def remove_texts(self, session: Session, condition, *, now: datetime, reason: str,
                     batch: int = 500, limit: int | None = None) -> int:
        """Replace the text of the events matching `condition` (a SQL expression on
        AuditEvent) by its digest, oldest first, at most `limit` events (the rest on the next
        call: a long backlog never holds the write lock for long); returns how many texts.
        Audited as `texts_removed` when any."""
        table = AuditEvent.__table__
        connection = session.connection()
        removed = done = 0
        while limit is None or done < limit:
            size = batch if limit is None else min(batch, limit - done)
            rows = connection.execute(
                select(table.c.seq, table.c.text_enc)
                .where(condition, table.c.text_removed_at.is_(None))
                .order_by(table.c.seq).limit(size)).all()
            if not rows:
                break
            done += len(rows)
            connection.execute(update(table).where(table.c.seq == bindparam("row_seq")), [
                {"row_seq": row.seq, "text_removed_at": now,
                 "text_enc": self._removed(row.text_enc)} for row in rows])
            removed += sum(1 for row in rows if row.text_enc is not None)
        if removed:
            self.record(session, "texts_removed", at=now, actor="system",
                        detail={"reason": reason, "events": removed})
        return removed

    def text(self, text_enc: bytes | None) -> str | None:
        """An event's text as people read it: None when it had none or it was removed."""
        clear = self.vault.decrypt(text_enc)
        return None if clear is None or clear.startswith(REMOVED) else clear

    def _removed(self, text_enc: bytes | None) -> bytes | None:
        clear = self.vault.decrypt(text_enc)
        return None if clear is None else self.vault.encrypt(REMOVED + _text_digest(clear))

    def verify(self, session: Session, batch: int = 1000) -> "Verification":
        """Walk the chain from the start; name the first event whose link or content is wrong."""
        expected_prev, expected_seq, checked = GENESIS, 1, 0
        last_seq = 0
        while True:
            rows = session.scalars(select(AuditEvent).where(AuditEvent.seq > last_seq)
                                   .order_by(AuditEvent.seq).limit(batch)).all()
            if not rows:
                return Verification(True, checked, None, None)
            for row in rows:
                if row.seq != expected_seq:
                    return Verification(False, checked, expected_seq,
                                        f"event {expected_seq} is missing")
                if row.prev_hash != expected_prev:
                    return Verification(False, checked, row.seq,
                                        "does not link to the event before it")
                try:
                    clear = self.vault.decrypt(row.text_enc)
                except ValueError:
                    return Verification(False, checked, row.seq, "text cannot be decrypted")
                if _digest(_fields(row), None if clear is None else _text_digest(clear)) != row.hash:
                    return Verification(False, checked, row.seq, "content does not match its hash")
                expected_prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
                checked += 1


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


@event.listens_for(Session, "before_commit")
def _append_buffered(session: Session) -> None:
    """Chain and insert the transaction's buffered events, under the append lock."""
    if session.in_nested_transaction():
        return  # a savepoint: the events wait for the real commit
    buffered = session.info.pop("audit_buffer", None)
    if not buffered:
        return
    # Core on the session's connection: the ORM's execution path would cost more than the work.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = connection.execute(_TAIL).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    rows = []
    for fields in buffered:
        seq += 1
        row = {**fields, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = _digest(row, row.pop("text_digest"))
        rows.append(row)
    connection.execute(_INSERT, rows)
    session.info.setdefault("audit_pending", []).extend(
        {name: row[name] for name in ("seq", "kind", "channel", "patient_id", "appointment_id",
                                      "hash", "prev_hash")} for row in rows)


@event.listens_for(Session, "after_commit")
def _mirror_committed(session: Session) -> None:
    for fields in session.info.pop("audit_pending", []):
        logfiles.write("audit", "audit_event", **fields)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("audit_buffer", None)
    session.info.pop("audit_pending", None)
