"""The audit trail: every inbound and outbound message, booking change and refusal, hash-chained.

Each event stores its text encrypted and carries the hash of the event before it, so an edit or a
deletion anywhere breaks the chain at that point. The hash covers the previous hash, the event's
fields and a digest of the clear text (not the ciphertext), so re-encrypting under a new key keeps
the chain valid. Appends are serialized: an advisory lock on PostgreSQL, BEGIN IMMEDIATE on
SQLite, and the primary key on `seq` as the last word. Each committed event is mirrored to
`logs/audit.log` with ids and hashes only.

Cutting events off the end leaves every remaining link intact, so the chain's head is anchored
outside the table too: every append's seq and hash are mirrored to `logs/audit.log` (with the
chain's id, the hash of its first event, so a new database never reads an old one's lines), and
a signed checkpoint of the head (`checkpoint`: seq, hash, time, an HMAC under the vault's keys)
is recorded and posted to the staff channel every day. `verify` compares the chain with the
mirror and any checkpoints given, and names how many events are missing from the end, and since
when.

Text does not stay forever: `remove_texts` replaces the text of old events (the retention job) or
of one patient's events (erasure) by the digest the hash covered, still encrypted, and records a
`texts_removed` event. The chain still verifies, and an edit of any other field still breaks it.
"""

from __future__ import annotations

import hashlib
import json
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy.orm import Session

from bot import logfiles
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


# Called with the session and each event's fields (no text) as it is appended: how the staff
# notifier (bot/staff/notices.py) learns what happened, to tell the team once the transaction commits.
Observer = Callable[[Session, dict[str, Any]], None]


class AuditTrail:
    def __init__(self, vault: Vault):
        self.vault = vault
        self.observers: list[Observer] = []

    def record(
        self,
        session: Session,
        kind: str,
        *,
        at: datetime,
        channel: str | None = None,
        actor: str | None = None,
        patient_id: int | None = None,
        appointment_id: int | None = None,
        message_id: str | None = None,
        detail: dict[str, Any] | None = None,
        text_: str | None = None,
    ) -> None:
        """Append one event to the caller's transaction.

        The event is written, chained, just before that transaction commits (`_append_buffered`):
        one locked read of the chain's end and one multi-row insert per transaction, however many
        events a turn records, and the append lock is held only for that moment.
        `detail` must hold no personal data: it is hashed, stored and shown in clear."""
        fields = {
            "at": at,
            "kind": kind,
            "channel": channel,
            "actor": actor,
            "patient_id": patient_id,
            "appointment_id": appointment_id,
            "message_id": message_id,
            "detail": detail or {},
        }
        for observer in self.observers:
            observer(session, fields)
        fields["text_digest"] = None if text_ is None else _text_digest(text_)
        fields["text_enc"] = self.vault.encrypt(text_)
        session.info.setdefault("audit_buffer", []).append(fields)

    def remove_texts(
        self,
        session: Session,
        condition,
        *,
        now: datetime,
        reason: str,
        batch: int = 500,
        limit: int | None = None,
    ) -> int:
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
                .order_by(table.c.seq)
                .limit(size)
            ).all()
            if not rows:
                break
            done += len(rows)
            connection.execute(
                update(table).where(table.c.seq == bindparam("row_seq")),
                [
                    {
                        "row_seq": row.seq,
                        "text_removed_at": now,
                        "text_enc": self._removed(row.text_enc),
                    }
                    for row in rows
                ],
            )
            removed += sum(1 for row in rows if row.text_enc is not None)
        if removed:
            self.record(
                session,
                "texts_removed",
                at=now,
                actor="system",
                detail={"reason": reason, "events": removed},
            )
        return removed

    def text(self, text_enc: bytes | None) -> str | None:
        """An event's text as people read it: None when it had none or it was removed."""
        clear = self.vault.decrypt(text_enc)
        return None if clear is None or clear.startswith(REMOVED) else clear

    def _removed(self, text_enc: bytes | None) -> bytes | None:
        clear = self.vault.decrypt(text_enc)
        return None if clear is None else self.vault.encrypt(REMOVED + _text_digest(clear))

    def verify(
        self,
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
                    return Verification(
                        False, checked, row.seq, "does not link to the event before it"
                    )
                try:
                    clear = self.vault.decrypt(row.text_enc)
                except ValueError:
                    return Verification(False, checked, row.seq, "text cannot be decrypted")
                if (
                    _digest(_fields(row), None if clear is None else _text_digest(clear))
                    != row.hash
                ):
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

    # --- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self, session: Session, *, now: datetime) -> Checkpoint | None:
        """A signed checkpoint of the chain's head (None while the chain is empty), recorded as
        an `audit_checkpoint` event, for the staff channel and `audit verify --checkpoint`."""
        head = session.execute(_TAIL).first()
        if head is None:
            return None
        at = now.astimezone(UTC).replace(microsecond=0)
        unsigned = Checkpoint(head.seq, head.hash, at, "")
        signed = Checkpoint(head.seq, head.hash, at, self.vault.sign(unsigned.signed_text))
        self.record(
            session,
            "audit_checkpoint",
            at=now,
            actor="system",
            detail={
                "seq": signed.seq,
                "hash": signed.hash,
                "checkpoint_at": at.isoformat(),
                "signature": signed.signature,
            },
        )
        return signed

    def signed_by_us(self, checkpoint: Checkpoint) -> bool:
        return self.vault.signed(checkpoint.signed_text, checkpoint.signature)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


@dataclass(frozen=True)
class Anchor:
    """A point of the chain known outside the table: event `seq` had `hash`."""

    seq: int
    hash: str
    source: str


_CHECKPOINT = re.compile(
    r"audit checkpoint (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) "
    r"event (?P<seq>\d{1,18}) hash (?P<hash>[0-9a-f]{64}) "
    r"sig (?P<sig>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment, signed: what the staff channel is given each day."""

    seq: int
    hash: str
    at: datetime
    signature: str

    @property
    def source(self) -> str:
        return f"the checkpoint of {self.at:%Y-%m-%dT%H:%M:%SZ}"

    @property
    def signed_text(self) -> str:
        return f"audit-checkpoint:{self.at:%Y-%m-%dT%H:%M:%SZ}:{self.seq}:{self.hash}"

    def text(self) -> str:
        return (
            f"audit checkpoint {self.at:%Y-%m-%dT%H:%M:%SZ} event {self.seq} "
            f"hash {self.hash} sig {self.signature}"
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint | None:
        m = _CHECKPOINT.search(text or "")
        if m is None:
            return None
        at = datetime.strptime(m["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return cls(int(m["seq"]), m["hash"], at, m["sig"])


def checkpoint_notice(checkpoint: Checkpoint) -> str:
    """What the staff channel is given each day (ids and hashes only)."""
    return (
        f"Daily audit checkpoint: keep this line. To check that no audit event was removed "
        f'since, an admin runs `flask --app app audit verify --checkpoint "..."` with it.\n'
        f"{checkpoint.text()}"
    )


def audit_mirror(settings) -> Path:
    """Where the audit log mirrors the chain (LOG_DIR/audit.log)."""
    return Path(settings.log_dir) / logfiles.FILES["audit"]


# --- the mirror in logs/audit.log -----------------------------------------------------------------

_MIRROR_BLOCK = 64 * 1024
# Lines from several processes interleave a little: this far below a seq, its line is surely
# read by the time the backward scan stops.
_MIRROR_SLACK = 200


def _mirror_lines(path: Path, chain: str):
    """The mirror's lines of this chain, newest first (read backwards in blocks)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (a missing mirror ends the generator)
    except OSError:
        return
    with handle:
        handle.seek(0, 2)
        position, rest = handle.tell(), b""
        while position > 0:
            size = min(_MIRROR_BLOCK, position)
            position -= size
            handle.seek(position)
            lines = (handle.read(size) + rest).split(b"\n")
            rest = lines.pop(0) if position > 0 else b""
            for raw in reversed(lines):
                line = _mirror_line(raw, chain)
                if line is not None:
                    yield line
        line = _mirror_line(rest, chain)
        if line is not None:
            yield line


def _mirror_line(raw: bytes, chain: str) -> dict | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    if (
        not isinstance(line, dict)
        or line.get("chain") != chain
        or not isinstance(line.get("seq"), int)
    ):
        return None
    return line


def _mirror_head(path: Path, chain: str) -> Anchor | None:
    """The newest event of this chain that the mirror names."""
    best: dict | None = None
    for line in _mirror_lines(path, chain):
        if best is None or line["seq"] > best["seq"]:
            best = line
        elif line["seq"] < best["seq"] - _MIRROR_SLACK:
            break
    return Anchor(best["seq"], best["hash"], path.name) if best else None


def _mirror_time(path: Path, chain: str, seq: int) -> str | None:
    """When the mirror wrote event `seq` of this chain, if it did."""
    for line in _mirror_lines(path, chain):
        if line["seq"] == seq:
            return line.get("ts")
        if line["seq"] < seq - _MIRROR_SLACK:
            return None
    return None


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


@event.listens_for(Session, "after_commit")
def _mirror_committed(session: Session) -> None:
    for fields in session.info.pop("audit_pending", []):
        logfiles.write("audit", "audit_event", **fields)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop("audit_buffer", None)
    session.info.pop("audit_pending", None)
