"""Telling the EHR about every change of an appointment: the queue's producer and its admin side.

`EhrNotices.watch(audit)` hears the audit events of a booking, a move, a cancellation and an
attendance mark (each already recorded in the change's own transaction: bot/tools.py) and adds
one `EhrNotification` row to that same transaction, holding the FHIR Appointment as it is after
the change (scheduler/fhir/resources.py `appointment_resource`), encrypted. The row commits with
the change or not at all; a savepoint rolled back drops it with the rest of what it held. The job
workers send the queue (jobs/ehr_webhook.py). Wired by the app only while EHR_WEBHOOK_URL is set.

For the admins (Slack `/appt-admin ehr`, bot/staff/ehr.py; the portal's EHR page): the
notifications that failed for a day, how many changes wait behind each, and `resend`, which
queues a failed one again (with a new day of attempts), audited by the caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from bot.audit.trail import AuditTrail
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.models import (
    EHR_DELIVERED,
    EHR_FAILED,
    EHR_PENDING,
    Appointment,
    EhrNotification,
)

# The audit events that are a change the EHR hears of, and the notification's `event`.
EVENTS = {
    "appointment_booked": "booked",
    "appointment_rescheduled": "rescheduled",
    "appointment_cancelled": "cancelled",
    "attendance_marked": "attendance",
}


class EhrNotices:
    def __init__(self, clinic: Clinic, vault: Vault):
        self.clinic, self.vault = clinic, vault

    def watch(self, audit: AuditTrail) -> None:
        audit.observers.append(self._observe)

    def _observe(self, session: Session, event: dict[str, Any]) -> None:
        kind = EVENTS.get(event["kind"])
        appointment_id = event.get("appointment_id")
        if kind is None or appointment_id is None:
            return
        appointment = session.get(Appointment, appointment_id)
        if appointment is not None:
            queue(session, self.clinic, self.vault, appointment, kind, at=event["at"])


def queue(
    session: Session,
    clinic: Clinic,
    vault: Vault,
    appointment: Appointment,
    event: str,
    *,
    at: datetime,
) -> EhrNotification:
    """Add the notification of `appointment`'s change to `session`'s transaction."""
    # Here: fhir.resources' models load only where notifications are on (the admin side is not).
    from scheduler.fhir.resources import appointment_resource

    resource = appointment_resource(session, clinic, appointment)
    payload = vault.encrypt(json.dumps(resource, separators=(",", ":"), ensure_ascii=False))
    assert payload is not None  # a text in, a token out
    row = EhrNotification(
        appointment_id=appointment.id,
        event=event,
        payload_enc=payload,
        status=EHR_PENDING,
        attempts=0,
        created_at=at,
        next_attempt_at=at,
    )
    session.add(row)
    return row


# --- the admins' view ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedNotice:
    id: int
    appointment_id: int
    event: str
    created_at: datetime
    attempts: int
    last_error: str | None
    failed_at: datetime | None
    waiting: int  # later changes of the same appointment held back behind it


def count_failed(db: Session) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(EhrNotification)
            .where(EhrNotification.status == EHR_FAILED)
        )
        or 0
    )


def failed_notices(db: Session, *, limit: int = 50, offset: int = 0) -> list[FailedNotice]:
    """The failed notifications, newest first, each with the changes waiting behind it."""
    later = aliased(EhrNotification)
    waiting = (
        select(func.count())
        .where(
            later.appointment_id == EhrNotification.appointment_id,
            later.id > EhrNotification.id,
            later.status != EHR_DELIVERED,
        )
        .correlate(EhrNotification)
        .scalar_subquery()
    )
    rows = db.execute(
        select(EhrNotification, waiting)
        .where(EhrNotification.status == EHR_FAILED)
        .order_by(EhrNotification.created_at.desc(), EhrNotification.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        FailedNotice(
            row.id,
            row.appointment_id,
            row.event,
            row.created_at,
            row.attempts,
            row.last_error,
            row.failed_at,
            int(count or 0),
        )
        for row, count in rows
    ]


def resend(
    db: Session,
    audit: AuditTrail,
    ids: list[int] | None,
    *,
    now: datetime,
    channel: str,
    actor: str,
) -> list[int]:
    """Queue the failed notifications `ids` (None: every failed one) again, now, with a new day
    of attempts; returns the ids queued (an id that is not failed is left alone). Audited."""
    wanted = select(EhrNotification.id).where(EhrNotification.status == EHR_FAILED)
    if ids is not None:
        wanted = wanted.where(EhrNotification.id.in_(ids))
    found = sorted(db.scalars(wanted.order_by(EhrNotification.id)).all())
    if not found:
        return []
    db.execute(
        update(EhrNotification)
        .where(EhrNotification.id.in_(found), EhrNotification.status == EHR_FAILED)
        .values(
            status=EHR_PENDING,
            next_attempt_at=now,
            first_attempt_at=None,
            failed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    audit.record(
        db,
        "ehr_notifications_resent",
        at=now,
        channel=channel,
        actor=actor,
        detail={"notifications": found[:100], "count": len(found)},
    )
    return found
