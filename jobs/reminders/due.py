"""A claimed reminder as the sender sees it: loaded with what sending needs (`load_claimed`),
whether it must not go out now (`unwanted_now`), and its text in the patient's language
(`reminder_text`). A waitlist offer is a reminder too, of kind "offer": its start is the offered
slot's and it is wanted while the offer stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import i18n
from bot.patient import replies
from scheduler.clinic import Clinic
from scheduler.models import (
    ACTIVE_STATUSES,
    Appointment,
    Patient,
    Provider,
    Reminder,
    WaitlistOffer,
)
from scheduler.reminders import CANCELLED, EXPIRED

from ..leases import by_ids


@dataclass(frozen=True)
class Due:
    id: int
    kind: str
    attempts: int
    patient_id: int
    phone_enc: bytes | None
    opted_out: bool
    patient_tz: str | None
    start_at: datetime | None
    active: bool
    provider_name: str | None
    offer_expires: datetime | None
    offer_slot: dict[str, Any] | None
    offer_id: int | None = None
    provider_key: str | None = None
    language: str | None = None  # the patient's (bot/i18n.py): the text is in it
    # The number's blind index as stored, and the patient's scope (scheduler.patients.identity):
    # for a patient of no scope the stored index is the number's own.
    phone_index: str | None = None
    scope: str | None = None


def load_claimed(sessions: sessionmaker[Session], ids: list[int], owner: str) -> list[Due]:
    """The rows `ids` that `owner` still holds, in due order."""
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    with sessions() as db:
        rows = db.execute(
            select(
                Reminder.id,
                Reminder.kind,
                Reminder.attempts,
                Reminder.patient_id,
                Reminder.offer_id,
                Patient.phone_enc,
                Patient.opted_out_at,
                Patient.timezone,
                Appointment.start_at,
                Appointment.status,
                Provider.name,
                WaitlistOffer.expires_at,
                WaitlistOffer.slot,
                WaitlistOffer.status,
                Provider.key,
                Patient.language,
                Patient.phone_index,
                Patient.scope,
            )
            .join(Patient, Patient.id == Reminder.patient_id)
            .outerjoin(Appointment, Appointment.id == Reminder.appointment_id)
            .outerjoin(Provider, Provider.id == Appointment.provider_id)
            .outerjoin(WaitlistOffer, WaitlistOffer.id == Reminder.offer_id)
            .where(by_ids(Reminder.id, ids, postgres=postgres), Reminder.lease_owner == owner)
            .order_by(Reminder.due_at, Reminder.id)
        ).all()
    out = []
    # Outer-joined: no appointment for an offer (its start is the offered slot's).
    start: datetime | None
    for (
        rid,
        kind,
        attempts,
        patient_id,
        offer_id,
        phone_enc,
        opted_out,
        tz,
        start,
        status,
        provider,
        expires,
        slot,
        offer_status,
        provider_key,
        language,
        phone_index,
        scope,
    ) in rows:
        if kind == "offer":
            active = offer_status == "offered"
            start = datetime.fromisoformat(slot["start"]) if slot else None
        else:
            active = status in ACTIVE_STATUSES
        out.append(
            Due(
                rid,
                kind,
                attempts,
                patient_id,
                phone_enc,
                opted_out is not None,
                tz,
                start,
                active,
                provider,
                expires,
                slot,
                offer_id,
                provider_key,
                language,
                phone_index,
                scope,
            )
        )
    return out


def unwanted_now(due: Due, now: datetime) -> tuple[str, str] | None:
    """(status, code) when the reminder must not go out now; None to send it."""
    if not due.active or due.start_at is None or due.start_at <= now:
        return (EXPIRED if due.active else CANCELLED), "not_upcoming"
    if due.kind == "offer" and (due.offer_expires is None or due.offer_expires <= now):
        return EXPIRED, "offer_expired"
    if due.opted_out or due.phone_enc is None:
        return CANCELLED, "opted_out"
    return None


def reminder_text(clinic: Clinic, due: Due, zone: ZoneInfo, hold_minutes: int) -> str:
    """The text, in the patient's language."""
    assert due.start_at is not None  # only for a reminder `unwanted_now` let through (upcoming)
    with i18n.speaking(due.language):
        if due.kind == "offer":
            return replies.waitlist_offer(clinic, due.start_at, zone, hold_minutes)
        provider = (
            replies.provider_name_of(clinic, due.provider_key or "", due.provider_name)
            if clinic.show_provider_in_reminders and due.provider_name
            else None
        )
        return replies.reminder(clinic, due.start_at, zone, provider)
