"""The audit hash chain: how an event is hashed and linked, appended, mirrored and verified.

Each event carries the hash of the event before it, so an edit or a deletion anywhere breaks the
chain at that point. The hash covers the previous hash, the event's fields and a digest of the
clear text (not the ciphertext), so re-encrypting under a new key keeps the chain valid, and a
removed text (`REMOVED` and the digest the hash covered) still verifies.

The events a transaction records (trail.py) are chained and inserted just before it commits
(`_append_buffered`). A savepoint that rolls back forgets the events recorded inside it, and only
those; a rollback of the whole transaction forgets them all (bot/transactions.py). Appends are
serialized: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite, and the primary key on
`seq` as the last word. Each committed event is mirrored to `logs/audit.log` with ids and hashes
only, and with the chain's id (its first event's hash).

`verify_chain` walks the chain from the start, then holds its end against the anchors outside
the table (anchors.py: the mirror and any checkpoints given) and names how many events are
missing from the end, and since when.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from bot import logfiles, transactions
from bot.audit.anchors import Anchor, Checkpoint, _mirror_head, _mirror_time
from scheduler.crypto import Vault
from scheduler.models import AuditEvent

GENESIS = "0" * 64
# What a removed text becomes: this prefix and the SHA-256 digest of the text, encrypted. A
# message that itself began with it (a NUL is nothing a person types) would be hashed and
# verified the same way at every step, only shown as removed: nothing can pass as another text.
REMOVED = "\x00removed:"
# DeclarativeBase types `__table__` as a FromClause; a class mapped by `__tablename__` has a Table.
_INSERT = insert(AuditEvent.__table__)
_TAIL = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_FIRST = select(AuditEvent.hash).where(AuditEvent.seq == 1)
_LOCK_KEY = 7_210_001  # the advisory lock that serializes audit appends on PostgreSQL
_APPEND_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


_HASHED = (
    "seq",
    "kind",
    "channel",
    "actor",
    "patient_id",
    "appointment_id",
    "message_id",
    "detail",
    "prev_hash",
)


def _text_digest(clear_text: str) -> str:
    if clear_text.startswith(REMOVED):
        return clear_text[len(REMOVED) :]
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


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


def verify_chain(
    vault: Vault,
    session: Session,
    batch: int = 1000,
    *,
    mirror: Path | None = None,
    checkpoints: Sequence[Checkpoint] = (),
) -> Verification:
    """Walk the chain from the start and name the first event whose link or content is
    wrong; then hold its end against the anchors outside the table (the `mirror`, i.e.
    logs/audit.log, and the `checkpoints` given) and name the events missing from it."""
    chain = session.scalar(_FIRST)
    anchors: list[Checkpoint | Anchor] = list(checkpoints)
    mirrored = _mirror_head(mirror, chain) if mirror is not None and chain else None
    if mirrored is not None:
        anchors.append(mirrored)
    wanted = {anchor.seq for anchor in anchors}
    seen: dict[int, str] = {}
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last_seq, last_at = 0, None
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return Verification(
                    False, checked, expected_seq, f"event {expected_seq} is missing"
                )
            if row.prev_hash != expected_prev:
                return Verification(False, checked, row.seq, "does not link to the event before it")
            try:
                clear = vault.decrypt(row.text_enc)
            except ValueError:
                return Verification(False, checked, row.seq, "text cannot be decrypted")
            if _digest(_fields(row), None if clear is None else _text_digest(clear)) != row.hash:
                return Verification(False, checked, row.seq, "content does not match its hash")
            if row.seq in wanted:
                seen[row.seq] = row.hash
            expected_prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
            last_at = row.at
            checked += 1
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if anchor.seq <= last_seq and seen[anchor.seq] != anchor.hash:
            return Verification(
                False,
                checked,
                anchor.seq,
                f"event {anchor.seq} is not the one {anchor.source} names",
            )
    beyond = max((a for a in anchors if a.seq > last_seq), key=lambda a: a.seq, default=None)
    if beyond is not None:
        missing = beyond.seq - last_seq
        since = (
            f"after event {last_seq} of {last_at.isoformat()}"
            if last_at
            else "from the first event"
        )
        first = _mirror_time(mirror, chain, last_seq + 1) if mirror and chain else None
        if first:
            since += f"; event {last_seq + 1} was written at {first}"
        return Verification(
            False,
            checked,
            last_seq + 1,
            f"{missing} event{'s' if missing != 1 else ''} missing from the "
            f"end (events {last_seq + 1} to {beyond.seq}, which "
            f"{beyond.source} names), {since}",
        )
    return Verification(True, checked, None, None)


# --- the append, at commit -----------------------------------------------------------------------


def _append_buffered(session: Session, buffered: list[dict[str, Any]]) -> None:
    """Chain and insert the transaction's buffered events, under the append lock."""
    # Core on the session's connection: the ORM's execution path would cost more than the work.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_APPEND_LOCK, {"key": _LOCK_KEY})
    last = connection.execute(_TAIL).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    rows = []
    for fields in buffered:
        seq += 1
        row = {**fields, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = _digest(row, row.pop("text_digest"))
        rows.append(row)
    connection.execute(_INSERT, rows)
    chain = rows[0]["hash"] if rows[0]["seq"] == 1 else _chain_of(connection)
    session.info.setdefault("audit_pending", []).extend(
        {
            "chain": chain,
            **{
                name: row[name]
                for name in (
                    "seq",
                    "kind",
                    "channel",
                    "patient_id",
                    "appointment_id",
                    "hash",
                    "prev_hash",
                )
            },
        }
        for row in rows
    )


# The chain's id (its first event's hash) per database, looked up once per process.
_chains: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _chain_of(connection) -> str | None:
    engine = connection.engine
    chain = _chains.get(engine)
    if chain is None:
        chain = connection.execute(_FIRST).scalar()
        if chain is not None:
            _chains[engine] = chain
    return chain


def _mirror_committed(session: Session, pending: list[dict[str, Any]]) -> None:
    logfiles.write_lines("audit", "audit_event", pending)


# The events recorded in a transaction (trail.py) are chained and inserted just before its
# outermost commit, and mirrored once it has committed; a savepoint that rolls back forgets the
# events recorded inside it and only those, a rollback of the transaction forgets them all.
transactions.write_before_commit("audit_buffer", _append_buffered)
transactions.hold_until_commit("audit_pending", committed=_mirror_committed)
