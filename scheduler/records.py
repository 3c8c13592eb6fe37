"""One patient's records: everything held about them (their right of access) and its erasure.

One implementation for every way an operator asks: `flask --app app patient export/erase` and
Slack's `/appt-admin patient export/erase`. The functions work inside the caller's transaction
and return what they found or did; the caller records the audit event (`patient_exported`,
`patient_erased`) in the same transaction, naming who asked.

Erasure deletes the name, phone number, conversation state, sent messages, stored replies (web
chat and SMS) and SMS delivery statuses. Appointments stay, tied to a patient record with no
personal fields, for the clinic's records. The texts of the patient's audit events are replaced
by their digests (`AuditTrail.remove_texts`, so the chain still verifies); the events stay.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Delete, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from .crypto import Vault
from .models import (
    Appointment,
    AuditEvent,
    ConversationSession,
    MessageReceipt,
    OutboxMessage,
    Patient,
    PatientNameToken,
    SmsMessage,
)


class AuditTexts(Protocol):
    """What export and erasure need of the audit trail (bot/audit/trail.py `AuditTrail`, handed in):
    an event's text as people read it, and removing the texts of some events."""

    def text(self, text_enc: bytes | None) -> str | None: ...

    def remove_texts(
        self,
        session: Session,
        condition: Any,
        *,
        now: datetime,
        reason: str,
        batch: int = 500,
        limit: int | None = None,
    ) -> int: ...


# Channels whose conversation sessions are keyed by the patient's phone number.
PHONE_CHANNELS = ("sms", "web", "console")


def _deleted(session: Session, statement: Delete) -> int:
    """How many rows a DELETE removed. `Session.execute` returns a `CursorResult` for a DML
    statement (its stubs say `Result`, which has no `rowcount`)."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount or 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_patient(
    session: Session, vault: Vault, patient: Patient, *, audit: AuditTexts
) -> dict[str, Any]:
    """Everything held about `patient`, decrypted, as a JSON-able dict."""
    phone = vault.decrypt(patient.phone_enc)
    appointments = (
        session.scalars(
            select(Appointment)
            .where(Appointment.patient_id == patient.id)
            .order_by(Appointment.start_at)
        )
        .unique()
        .all()
    )
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.patient_id == patient.id).order_by(AuditEvent.seq)
    ).all()
    messages = (
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient_index.in_(vault.indexes(phone)))
            .order_by(OutboxMessage.id)
        ).all()
        if phone
        else []
    )
    return {
        "patient": {
            "id": patient.id,
            "name": vault.decrypt(patient.name_enc),
            "phone": phone,
            "timezone": patient.timezone,
            "consented_at": _iso(patient.consented_at),
            "opted_out_at": _iso(patient.opted_out_at),
            "created_at": _iso(patient.created_at),
        },
        "appointments": [
            {
                "id": a.id,
                "type": a.appointment_type.name,
                "provider": a.provider.name,
                "for": vault.decrypt(a.attendee_enc),
                "room": a.room.name if a.room else None,
                "start_at": _iso(a.start_at),
                "end_at": _iso(a.end_at),
                "status": a.status.value,
                "booked_via": a.booked_via,
                "created_at": _iso(a.created_at),
                "cancelled_at": _iso(a.cancelled_at),
            }
            for a in appointments
        ],
        "messages_sent": [
            {
                "id": m.id,
                "at": _iso(m.created_at),
                "kind": m.kind,
                "text": vault.decrypt(m.text_enc),
            }
            for m in messages
        ],
        "audit_events": [
            {
                "seq": e.seq,
                "at": _iso(e.at),
                "kind": e.kind,
                "channel": e.channel,
                "text": audit.text(e.text_enc),
            }
            for e in events
        ],
    }


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed and kept: counts only (safe to show and to audit)."""

    patient_id: int
    sessions: int
    outbox_messages: int
    receipts: int
    sms_statuses: int
    audit_texts: int
    appointments_kept: int

    def as_detail(self) -> dict[str, int]:
        detail = asdict(self)
        detail.pop("patient_id")
        return detail


def erase_patient(
    session: Session,
    vault: Vault,
    patient: Patient,
    phone: str,
    *,
    now: datetime,
    audit: AuditTexts,
) -> Erasure:
    """Erase the personal data of `patient` (whose E.164 number is `phone`)."""
    sessions_ended = sum(
        _deleted(
            session,
            delete(ConversationSession).where(
                ConversationSession.user_index.in_(vault.indexes(f"{channel}:{phone}"))
            ),
        )
        for channel in PHONE_CHANNELS
    )
    messages = _deleted(
        session,
        delete(OutboxMessage).where(OutboxMessage.recipient_index.in_(vault.indexes(phone))),
    )
    # Web chat and SMS replies are stored under "<phone index prefix>:<message id>".
    receipts = _deleted(
        session,
        delete(MessageReceipt).where(
            MessageReceipt.channel.in_(("web", "sms")),
            or_(
                MessageReceipt.sender_index.in_(vault.indexes(phone)),
                *(
                    func.substr(MessageReceipt.external_id, 1, 17) == f"{index[:16]}:"
                    for index in vault.indexes(phone)
                ),
            ),
        ),
    )
    texts = _deleted(session, delete(SmsMessage).where(SmsMessage.patient_id == patient.id))
    appointments = (
        session.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.patient_id == patient.id)
        )
        or 0
    )
    session.execute(
        update(Appointment).where(Appointment.patient_id == patient.id).values(attendee_enc=None)
    )  # whom they booked for goes with them
    audit_texts = audit.remove_texts(
        session, AuditEvent.patient_id == patient.id, now=now, reason="erasure"
    )
    session.execute(delete(PatientNameToken).where(PatientNameToken.patient_id == patient.id))
    patient.name_enc = patient.phone_enc = patient.phone_index = patient.timezone = None
    patient.erased_at = now
    session.flush()
    return Erasure(patient.id, sessions_ended, messages, receipts, texts, audit_texts, appointments)
