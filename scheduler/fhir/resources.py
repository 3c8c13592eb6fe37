"""Domain objects as FHIR R4 resources (plain JSON dicts, as they go on the wire).

An Appointment names its participants by the ids an EHR knows them by: the patient by our
number (`Patient/12`), the provider and the room by their keys in the clinic file
(`Practitioner/okafor`, `Location/exam-1`), which an import keeps as the EHR's own ids. Minimum
necessary: no name, phone or free text of the patient's; the kind of visit is a code of the
clinic's (its key) with its display name.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from scheduler.clinic import Clinic
from scheduler.models import Appointment, AppointmentType, Provider, Resource

# Our appointment-type keys, as a code system of the clinic's own.
TYPE_SYSTEM = "urn:medical-ai-scheduler:appointment-type"


def appointment_resource(db: Session, clinic: Clinic, appointment: Appointment) -> dict[str, Any]:
    """The appointment as a FHIR R4 Appointment, times in the clinic's zone with their offset."""
    provider = db.get(Provider, appointment.provider_id)
    kind_of = db.get(AppointmentType, appointment.type_id)
    assert provider is not None and kind_of is not None  # foreign keys
    actors = [f"Patient/{appointment.patient_id}", f"Practitioner/{provider.key}"]
    if appointment.room_id is not None and (room := db.get(Resource, appointment.room_id)):
        actors.append(f"Location/{room.key}")
    kind = {"coding": [{"system": TYPE_SYSTEM, "code": kind_of.key, "display": kind_of.name}]}
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
        "participant": [
            {"actor": {"reference": reference}, "status": "accepted"} for reference in actors
        ],
    }
