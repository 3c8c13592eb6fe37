"""The rows and slots the API answers with, as the dicts its response schemas dump: keys for the
clinic's things, ids for rows, instants in the clinic's zone (so with its UTC offset). An
appointment says whether its attendance was left unmarked (bot/staff/attendance.py's rule, the
portal's too), so it needs the call's now."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from bot.staff.attendance import unmarked
from scheduler.availability import Slot
from scheduler.crypto import Vault
from scheduler.models import (
    Appointment,
    AppointmentType,
    Patient,
    Provider,
    Resource,
    WaitlistEntry,
)


def slot(found: Slot, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "appointment_type": found.type_key,
        "provider": found.provider_key,
        "start": found.start.astimezone(zone),
        "end": found.end.astimezone(zone),
        "room": found.room_key,
        "equipment": found.equipment_key,
    }


def appointment(row: Appointment, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status.value,
        "start": row.start_at.astimezone(zone),
        "end": row.end_at.astimezone(zone),
        "provider": row.provider.key,
        "appointment_type": row.appointment_type.key,
        "patient": row.patient_id,
        "room": row.room.key if row.room is not None else None,
        "equipment": row.equipment.key if row.equipment is not None else None,
        "attendance_unmarked": unmarked(row.status, row.end_at, now),
    }


class Keys:
    """The keys of providers, appointment types and resources by their row ids, for a page of
    appointments read without joins. A row's key never changes (scheduler/clinic_store.py
    upserts by key and never deletes), so they are read once, and again only for an id not
    seen yet (a clinic file that added one)."""

    _READ = union_all(
        select(literal("p"), Provider.id, Provider.key),
        select(literal("t"), AppointmentType.id, AppointmentType.key),
        select(literal("r"), Resource.id, Resource.key),
    )

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], str] = {}

    def of(self, db: Session, table: str, row_id: int | None) -> str | None:
        if row_id is None:
            return None
        key = self._known.get((table, row_id))
        if key is None:
            # Replaced whole, never changed in place: other threads read the old one meanwhile.
            self._known = {(t, i): k for t, i, k in db.execute(self._READ)}
            key = self._known[(table, row_id)]
        return key


def appointment_row(
    row: Any, keys: Keys, db: Session, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    """An appointment read as the columns of `appointments.LISTED`, ready for JSON as
    `AppointmentSchema` would dump it (a page of the list is dumped without marshmallow: it is
    the API's busiest answer, and the schema's dump cost as much as its query)."""
    return {
        "id": row.id,
        "status": row.status.value,
        "start": row.start_at.astimezone(zone).isoformat(),
        "end": row.end_at.astimezone(zone).isoformat(),
        "provider": keys.of(db, "p", row.provider_id),
        "appointment_type": keys.of(db, "t", row.type_id),
        "patient": row.patient_id,
        "room": keys.of(db, "r", row.room_id),
        "equipment": keys.of(db, "r", row.equipment_id),
        "attendance_unmarked": unmarked(row.status, row.end_at, now),
    }


def booked(row: Appointment, slot: Slot, room: str | None, zone: ZoneInfo) -> dict[str, Any]:
    """An appointment just booked at `slot` (its provider, type and equipment are the slot's:
    no loading them again), in `room`."""
    return {
        "id": row.id,
        "status": row.status.value,
        "start": row.start_at.astimezone(zone),
        "end": row.end_at.astimezone(zone),
        "provider": slot.provider_key,
        "appointment_type": slot.type_key,
        "patient": row.patient_id,
        "room": room,
        "equipment": slot.equipment_key,
        "attendance_unmarked": False,  # booked ahead: nothing to mark yet
    }


def patient(row: Patient, vault: Vault) -> dict[str, Any]:
    """The minimum necessary: who, how to reach them, in which language."""
    return {
        "id": row.id,
        "name": vault.decrypt(row.name_enc),
        "phone": vault.decrypt(row.phone_enc),
        "language": row.language,
    }


def waitlist_entry(row: WaitlistEntry, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient": row.patient_id,
        "appointment_type": row.type_key,
        "provider": row.provider_key,
        "earliest": row.earliest,
        "latest": row.latest,
        "priority": row.priority,
        "status": row.status,
        "created_at": row.created_at.astimezone(zone),
    }
