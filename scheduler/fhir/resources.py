"""Domain objects as FHIR R4 resources (plain JSON dicts, as they go on the wire).

The ids are the ones an EHR knows the clinic's things by, and an import keeps
(scheduler/fhir/importer.py): a provider's key is its Practitioner id and its Schedule's
(`Practitioner/okafor`, `Schedule/okafor`), a room's key its Location id (`Location/exam-1`), an
appointment type's key its HealthcareService id; the clinic itself is `Location/clinic.site` (a
dot, so that it is never a room's key); a patient and an appointment are their row ids
(`Patient/12`); a Slot's id is slots.py's.

An Appointment names its participants by those ids. Minimum necessary: an Appointment carries no
name, phone or free text of the patient's; the kind of visit is a code of the clinic's (its key)
with its display name. A Patient carries their name, phone and language, nothing more.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from scheduler.clinic import AppointmentTypeConfig, Clinic, ProviderConfig, RoomConfig
from scheduler.fhir.importer import DURATION_EXTENSION
from scheduler.fhir.slots import ScheduleSlot, offered_types, slot_id
from scheduler.models import Appointment, AppointmentType, Provider, Resource

# Our appointment-type keys, as a code system of the clinic's own.
TYPE_SYSTEM = "urn:medical-ai-scheduler:appointment-type"
SITE_ID = "clinic.site"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
# A patient's phone as their identifier: a tel: URI (RFC 3966), so of the system "a URI".
URI_SYSTEM = "urn:ietf:rfc:3986"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"


def type_concept(key: str, name: str) -> dict[str, Any]:
    """An appointment type as a CodeableConcept: its key in the clinic's code system."""
    return {"coding": [{"system": TYPE_SYSTEM, "code": key, "display": name}]}


def appointment_resource(db: Session, clinic: Clinic, appointment: Appointment) -> dict[str, Any]:
    """The appointment as a FHIR R4 Appointment, times in the clinic's zone with their offset."""
    provider = db.get(Provider, appointment.provider_id)
    kind_of = db.get(AppointmentType, appointment.type_id)
    assert provider is not None and kind_of is not None  # foreign keys
    actors = [f"Patient/{appointment.patient_id}", f"Practitioner/{provider.key}"]
    if appointment.room_id is not None and (room := db.get(Resource, appointment.room_id)):
        actors.append(f"Location/{room.key}")
    kind = type_concept(kind_of.key, kind_of.name)
    return {
        "resourceType": "Appointment",
        "id": str(appointment.id),
        "meta": {"lastUpdated": appointment.updated_at.isoformat()},
        "status": appointment.status.value,
        "serviceType": [kind],
        "appointmentType": kind,
        "start": appointment.start_at.astimezone(clinic.zone).isoformat(),
        "end": appointment.end_at.astimezone(clinic.zone).isoformat(),
        "created": appointment.created_at.astimezone(clinic.zone).isoformat(),
        "slot": [
            {
                "reference": "Slot/"
                + slot_id(appointment.provider_id, appointment.type_id, appointment.start_at)
            }
        ],
        "participant": [
            {"actor": {"reference": reference}, "status": "accepted"} for reference in actors
        ],
    }


def practitioner_resource(provider: ProviderConfig) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": provider.key,
        "active": True,
        "name": [{"use": "official", "text": provider.name}],
    }


def site_resource(clinic: Clinic) -> dict[str, Any]:
    """The clinic itself, as the Location its rooms are part of."""
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": SITE_ID,
        "status": "active",
        "mode": "instance",
        "name": clinic.name,
        "telecom": [{"system": "phone", "value": clinic.phone, "use": "work"}],
        "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "si", "display": "Site"}]},
    }
    if clinic.address:
        resource["address"] = {"text": clinic.address}
    return resource


def room_resource(room: RoomConfig) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": room.key,
        "status": "active",
        "mode": "instance",
        "name": room.name,
        "type": [{"text": room.kind}],
        "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": "ro", "display": "Room"}]},
        "partOf": {"reference": f"Location/{SITE_ID}"},
    }


def healthcare_service_resource(clinic: Clinic, kind: AppointmentTypeConfig) -> dict[str, Any]:
    """An appointment type: its specialty, the rooms it may use, its length (the extension the
    import reads back)."""
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": kind.key,
        "active": True,
        "name": kind.name,
        "type": [type_concept(kind.key, kind.name)],
        "extension": [{"url": DURATION_EXTENSION, "valueInteger": kind.duration_minutes}],
    }
    if kind.specialty:
        resource["specialty"] = [{"text": kind.specialty}]
    rooms = [r for r in clinic.rooms if kind.room_kind is not None and r.kind == kind.room_kind]
    if rooms:
        resource["location"] = [{"reference": f"Location/{r.key}"} for r in rooms]
    return resource


def schedule_resource(clinic: Clinic, provider: ProviderConfig, now: datetime) -> dict[str, Any]:
    """A provider's calendar: the types they offer, from today to the farthest day one of
    them may be booked."""
    kinds = offered_types(clinic, provider.key)
    zone = clinic.zone
    today = now.astimezone(zone).date()
    ahead = max((k.max_days_ahead for k in kinds), default=0)
    return {
        "resourceType": "Schedule",
        "id": provider.key,
        "active": True,
        "serviceType": [type_concept(k.key, k.name) for k in kinds],
        "actor": [{"reference": f"Practitioner/{provider.key}", "display": provider.name}],
        "planningHorizon": {
            "start": datetime.combine(today, time(0), zone).isoformat(),
            "end": datetime.combine(today + timedelta(days=ahead + 1), time(0), zone).isoformat(),
        },
    }


def slot_resource(clinic: Clinic, slot: ScheduleSlot) -> dict[str, Any]:
    kind = clinic.appointment_type(slot.type_key)
    return {
        "resourceType": "Slot",
        "id": slot.id,
        "schedule": {"reference": f"Schedule/{slot.provider_key}"},
        "status": slot.status,
        "serviceType": [type_concept(kind.key, kind.name)],
        "start": slot.start.astimezone(clinic.zone).isoformat(),
        "end": slot.end.astimezone(clinic.zone).isoformat(),
    }


def patient_resource(
    patient_id: int, name: str | None, phone: str | None, language: str | None
) -> dict[str, Any]:
    """The minimum necessary: who (name), how to reach them (phone, also their identifier) and
    in which language."""
    resource: dict[str, Any] = {"resourceType": "Patient", "id": str(patient_id), "active": True}
    if phone:
        resource["identifier"] = [{"system": URI_SYSTEM, "value": f"tel:{phone}"}]
        resource["telecom"] = [{"system": "phone", "value": phone, "use": "mobile"}]
    if name:
        resource["name"] = [{"text": name}]
    if language:
        resource["communication"] = [
            {
                "language": {"coding": [{"system": LANGUAGE_SYSTEM, "code": language}]},
                "preferred": True,
            }
        ]
    return resource
