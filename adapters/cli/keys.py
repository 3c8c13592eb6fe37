"""`flask --app app keys rotate`: every stored value re-encrypted under the newest key in
ENCRYPTION_KEYS, and the lookup indexes recomputed, in one transaction."""

from __future__ import annotations

from typing import Any, cast

import click
from cryptography.fernet import InvalidToken
from flask.cli import AppGroup
from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from scheduler.crypto import KeyConfigError
from scheduler.models import Base, ConversationSession, MessageReceipt, OutboxMessage, Patient
from scheduler.patients import identity, index_name

from .context import ACTOR, app_services, fail

keys_group = AppGroup("keys", help="Encryption keys (ENCRYPTION_KEYS, newest first).")


def _encrypted_tables() -> list[tuple[Table, list[str]]]:
    """Every table with `*_enc` columns, found from the models so new tables are not missed."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c.name for c in table.columns if c.name.endswith("_enc")]
        if columns:
            found.append((table, columns))
    return found


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored value under the newest key and recompute the lookup indexes.

    Put the new key first in ENCRYPTION_KEYS, keep the old ones after it, run this, check
    `audit verify`, then drop the old keys. Conversation sessions are ended (their lookup key
    cannot be recomputed), which only makes open conversations start over; so are the web chat's
    stored replies (their key holds the old phone index, so `patient erase` could no longer
    find them once the old key is gone; they only matter for seconds, against double submits).
    SMS receipts are kept and moved to the new index: they answer Twilio's retries and carry the
    rate limit's count.
    """
    services = app_services()
    vault = services.vault
    counts: dict[str, int] = {}
    try:
        with services.sessions.begin() as db:
            # `Session.execute` returns a `CursorResult` for a DELETE (its stubs say `Result`).
            web_receipts = (
                cast(
                    CursorResult[Any],
                    db.execute(delete(MessageReceipt).where(MessageReceipt.channel == "web")),
                ).rowcount
                or 0
            )
            for table, columns in _encrypted_tables():
                if table.name == ConversationSession.__tablename__:
                    continue
                key = list(table.primary_key.columns)
                rows = db.execute(select(*key, *(table.c[c] for c in columns))).all()
                changed = 0
                for row in rows:
                    values = {
                        c: vault.rotate(getattr(row, c))
                        for c in columns
                        if getattr(row, c) is not None
                    }
                    if values:
                        db.execute(
                            update(table)
                            .where(*(k == getattr(row, k.name) for k in key))
                            .values(**values)
                        )
                        changed += 1
                counts[table.name] = changed
            for patient in db.scalars(select(Patient).where(Patient.phone_enc.is_not(None))):
                assert patient.phone_enc is not None  # the query selects only those with a number
                patient.phone_index = vault.index(
                    identity(vault.decrypt(patient.phone_enc), patient.scope)
                )
            for patient in db.scalars(select(Patient).where(Patient.name_enc.is_not(None))):
                index_name(db, vault, patient.id, vault.decrypt(patient.name_enc))
            for message in db.scalars(select(OutboxMessage)):
                message.recipient_index = vault.index(vault.decrypt(message.recipient_enc))
            sms_receipts = _rekey_sms_receipts(db, vault)
            ended = cast(CursorResult[Any], db.execute(delete(ConversationSession))).rowcount or 0
            services.audit.record(
                db,
                "keys_rotated",
                at=services.clock(),
                channel="cli",
                actor=ACTOR,
                detail={
                    "rows": counts,
                    "sessions_ended": ended,
                    "web_receipts_deleted": web_receipts,
                    "sms_receipts_rekeyed": sms_receipts,
                },
            )
    except (KeyConfigError, InvalidToken):
        # A value under a key that is no longer listed: the transaction rolled back.
        fail(
            "nothing changed: a stored value cannot be decrypted with ENCRYPTION_KEYS; "
            "put the new key first and keep the old ones after it"
        )
    for name, count in counts.items():
        click.echo(f"{name}: {count} rows re-encrypted")
    click.echo(f"conversation_sessions: {ended} ended")
    click.echo(
        f"message_receipts: {web_receipts} web chat replies deleted, "
        f"{sms_receipts} SMS receipts moved to the new key"
    )
    click.echo("done: every value is under the newest key; the older keys can now be removed")


def _rekey_sms_receipts(db: Session, vault) -> int:
    """Move SMS receipts to the newest key's sender index (and key prefix); drop any that no
    patient's number matches (an erased patient's, say), since no lookup could find them."""
    current: dict[str, str] = {}
    for phone_enc in db.scalars(select(Patient.phone_enc).where(Patient.phone_enc.is_not(None))):
        indexes = vault.indexes(vault.decrypt(phone_enc))
        for index in indexes:
            current[index] = indexes[0]
    moved = 0
    receipts = db.scalars(select(MessageReceipt).where(MessageReceipt.channel == "sms")).all()
    taken = {r.external_id for r in receipts}
    for receipt in receipts:
        new = current.get(receipt.sender_index or "")
        if new is None:
            db.delete(receipt)
            continue
        if receipt.sender_index == new:
            continue
        external_id = f"{new[:16]}:{receipt.external_id.split(':', 1)[-1]}"
        if external_id in taken:  # the same message was claimed again under the new key
            db.delete(receipt)
            continue
        receipt.sender_index, receipt.external_id = new, external_id
        taken.add(external_id)
        moved += 1
    return moved
