"""The Appointment a notification or an export carries is valid FHIR (fhir.resources' R4B
model), names its participants by the keys the EHR knows, and carries no patient name."""

from __future__ import annotations

from datetime import timedelta

from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from scheduler.availability import find_slots
from scheduler.booking import book
from scheduler.fhir.resources import appointment_resource
from scheduler.patients import find_or_create_patient, set_patient_name


def test_a_booked_visit_is_a_valid_r4_appointment(sessions, demo_clinic, now, vault):
    with sessions.begin() as db:
        patient = find_or_create_patient(db, vault, "+12125550177", now=now)
        set_patient_name(vault, patient, "Robin Testperson")
        [slot] = find_slots(db, demo_clinic, "checkup", now=now, limit=1)
        appointment = book(db, demo_clinic, patient_id=patient.id, slot=slot, now=now)
        resource = appointment_resource(db, demo_clinic, appointment)
    FhirAppointment.model_validate(resource)  # raises on anything R4 does not allow
    actors = {p["actor"]["reference"] for p in resource["participant"]}
    assert actors >= {f"Patient/{patient.id}", f"Practitioner/{slot.provider_key}"}
    assert resource["status"] == "booked"
    assert resource["appointmentType"]["coding"][0]["code"] == "checkup"
    assert resource["start"].endswith(("-05:00", "-04:00"))  # the clinic's zone, with its offset
    assert resource["end"] > resource["start"]
    assert "Testperson" not in str(resource) and "5550177" not in str(resource)
    assert timedelta(0) < slot.start - now
