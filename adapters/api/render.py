"""The rows and slots the API answers with, as the dicts its response schemas dump: keys for the
clinic's things, ids for rows, instants in the clinic's zone (so with its UTC offset)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from scheduler.availability import Slot
from scheduler.crypto import Vault
from scheduler.models import Appointment, Patient, WaitlistEntry


def slot(found: Slot, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "appointment_type": found.type_key,
        "provider": found.provider_key,
        "start": found.start.astimezone(zone),
        "end": found.end.astimezone(zone),
        "room": found.room_key,
        "equipment": found.equipment_key,
    }


def appointment(row: Appointment, zone: ZoneInfo) -> dict[str, Any]:
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
    }


def appointment_row(row: Any, zone: ZoneInfo) -> dict[str, Any]:
    """An appointment read as the columns of `appointments.LISTED`, ready for JSON as
    `AppointmentSchema` would dump it (a page of the list is dumped without marshmallow: it is
    the API's busiest answer, and the schema's dump cost as much as its query)."""
    return {
        "id": row.id,
        "status": row.status.value,
        "start": row.start_at.astimezone(zone).isoformat(),
        "end": row.end_at.astimezone(zone).isoformat(),
        "provider": row.provider,
        "appointment_type": row.appointment_type,
        "patient": row.patient_id,
        "room": row.room,
        "equipment": row.equipment,
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
