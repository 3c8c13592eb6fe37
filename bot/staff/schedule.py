"""The day's schedule as staff see it: each provider's appointments and how much is still open.

`AppointmentView` is one appointment as staff read it (the patient by name, or by id when there is
no name or it was erased; the time in the clinic's zone); `ProviderDay` is one provider's day.
`/appt today`, the App Home and the staff conversation show the same `day_schedule`: the visits
that hold their time, and those already marked attended or a no-show (a day's record stays
whole); a visit that has started and is not marked yet is `can_mark` (its Attended and No-show
buttons, bot/staff/attendance.py). Reading only: every change goes through the desk
(bot/staff/desk.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.patient.replies import when_text
from bot.staff import replies as say
from bot.staff.attendance import markable
from scheduler import availability
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.errors import NotFound
from scheduler.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, Patient, Provider

# What a day's schedule lists: what holds its time, and what was attended or missed.
SHOWN_STATUSES = (*ACTIVE_STATUSES, AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW)


@dataclass(frozen=True)
class AppointmentView:
    id: int
    type_name: str
    provider_key: str
    provider_name: str
    start: datetime
    when: str  # "Thu Mar 5 at 9:00 AM", clinic time
    patient: str  # the name, or "patient #12"
    patient_id: int
    status: str
    can_mark: bool = False  # in a day's schedule: started, attendance not marked yet


@dataclass(frozen=True)
class ProviderDay:
    key: str
    name: str
    working: bool
    appointments: tuple[AppointmentView, ...]
    free: int  # open start times left today for `free_type`
    free_type: str | None  # the provider's shortest kind of visit

    @property
    def booked(self) -> int:
        return len(self.appointments)


def day_schedule(
    db: Session,
    clinic: Clinic,
    vault: Vault,
    day: date,
    now: datetime,
    provider_key: str | None = None,
) -> list[ProviderDay]:
    """Each provider's appointments on `day` (clinic time) and how many start times are
    still open for their shortest kind of visit."""
    zone = clinic.zone
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    providers = [p for p in clinic.providers if provider_key is None or p.key == provider_key]
    rows = (
        db.scalars(
            select(Appointment)
            .join(Provider, Appointment.provider_id == Provider.id)
            .where(
                Provider.key.in_([p.key for p in providers]),
                Appointment.status.in_(SHOWN_STATUSES),
                Appointment.start_at >= start,
                Appointment.start_at < end,
            )
            .order_by(Appointment.start_at, Appointment.id)
        )
        .unique()
        .all()
    )
    entries = []
    for provider in providers:
        views = tuple(
            replace(
                appointment_view(clinic, vault, a), can_mark=markable(a.status, a.start_at, now)
            )
            for a in rows
            if a.provider.key == provider.key
        )
        working = day.weekday() in provider.hours and day not in provider.days_off
        kinds = sorted(
            (t for t in clinic.appointment_types if provider in clinic.providers_for(t.key)),
            key=lambda t: (t.duration_minutes, t.key),
        )
        free, free_type = 0, None
        if working and kinds:
            free_type = kinds[0].name
            try:
                free = len(
                    availability.find_slots(
                        db,
                        clinic,
                        kinds[0].key,
                        now=now,
                        start_date=day,
                        end_date=day,
                        provider_key=provider.key,
                        limit=500,
                    )
                )
            except NotFound:
                free = 0
        entries.append(ProviderDay(provider.key, provider.name, working, views, free, free_type))
    return entries


def appointment_view(clinic: Clinic, vault: Vault, appointment: Appointment) -> AppointmentView:
    patient = appointment.patient
    return AppointmentView(
        id=appointment.id,
        type_name=appointment.appointment_type.name,
        provider_key=appointment.provider.key,
        provider_name=appointment.provider.name,
        start=appointment.start_at,
        when=when_text(appointment.start_at, clinic.zone),
        patient=say.for_attendee(
            patient_label_of(vault, patient), vault.decrypt(appointment.attendee_enc)
        ),
        patient_id=patient.id,
        status=appointment.status.value,
    )


def patient_label_of(vault: Vault, patient: Patient) -> str:
    name = vault.decrypt(patient.name_enc) if patient.name_enc else None
    return say.patient_label(name, patient.id, patient.erased_at is not None, patient.language)
