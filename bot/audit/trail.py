"""The audit trail's API: `AuditTrail` records events, removes old texts, verifies, checkpoints.

`record` appends one event (every inbound and outbound message, booking change and refusal) to
the caller's transaction, its text encrypted; the chain module (chain.py) links and inserts the
transaction's events just before it commits, and mirrors them to `logs/audit.log`. Observers
(bot/staff/notices.py) hear each event as it is recorded.

Text does not stay forever: `remove_texts` replaces the text of old events (the retention job) or
of one patient's events (erasure) by the digest the hash covered, still encrypted, and records a
`texts_removed` event. The chain still verifies, and an edit of any other field still breaks it.

`verify` walks the chain and holds it against its anchors (chain.py `verify_chain`); `checkpoint`
signs the chain's head under the vault's keys and records it (anchors.py `Checkpoint`), every day
for the staff channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.audit.anchors import Checkpoint
from bot.audit.chain import _TAIL, REMOVED, Verification, _text_digest, verify_chain
from scheduler.crypto import Vault
from scheduler.models import AuditEvent

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
        return verify_chain(self.vault, session, batch, mirror=mirror, checkpoints=checkpoints)

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
