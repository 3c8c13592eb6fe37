"""The facade driven by a FHIR client library (fhirpy's SyncFHIRClient, over real HTTP to the
app on 127.0.0.1): what an EHR does. Every answer the server sends is checked as FHIR R4 by the
live server's middleware (support.ValidatingApp)."""

from __future__ import annotations

from datetime import datetime

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound
from sqlalchemy import select

from scheduler.models import Appointment, AppointmentStatus, AuditEvent, Reminder
from tests.adapters.api.support import NEW_YORK, PHONE
from tests.adapters.fhir.support import BASE

WEEK = ("ge2026-03-09", "lt2026-03-16")  # Monday to Sunday, the week after the test clock's


@pytest.fixture
def ehr(live, users):
    token = users.staff["Authorization"]
    return SyncFHIRClient(live.url + BASE, authorization=token, requests_config={"timeout": 30})


def test_an_ehr_reads_the_schedule_books_a_slot_and_cancels_it(ehr, live, services, patient_id):
    statement = ehr.execute("metadata", method="get")
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"

    # A provider's week of free Slots, 25 a page: fetch_all follows every `next` link.
    search = ehr.resources("Slot").search(schedule="Schedule/okafor", status="free")
    week = search.search(start__ge=WEEK[0][2:], start__lt=WEEK[1][2:]).limit(25)
    slots = week.fetch_all()
    assert len(slots) > 100  # Dr. Okafor works Monday to Friday, with two types of visit
    assert len({s.id for s in slots}) == len(slots)  # paging repeats nothing
    assert [s["start"] for s in slots] == sorted(s["start"] for s in slots)
    days = {datetime.fromisoformat(s["start"]).astimezone(NEW_YORK).date() for s in slots}
    assert {d.isoformat() for d in days} == {f"2026-03-{d:02d}" for d in (9, 10, 11, 12, 13)}
    assert {s["schedule"]["reference"] for s in slots} == {"Schedule/okafor"}
    first_page = week.fetch_raw()
    assert first_page["total"] == len(slots) and len(first_page["entry"]) == 25

    # Book the first check-up Slot of the week.
    chosen = next(s for s in slots if s["serviceType"][0]["coding"][0]["code"] == "checkup")
    appointment = ehr.resource(
        "Appointment",
        status="booked",
        slot=[{"reference": f"Slot/{chosen.id}"}],
        participant=[
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/okafor"}, "status": "accepted"},
        ],
    )
    appointment.save()
    assert appointment.id and appointment["status"] == "booked"
    assert appointment["start"] == chosen["start"] and appointment["end"] == chosen["end"]

    read_back = ehr.reference("Appointment", appointment.id).to_resource()
    assert [ref.reference for ref in read_back["slot"]] == [f"Slot/{chosen.id}"]
    actors = {p["actor"].reference for p in read_back["participant"]}
    assert {f"Patient/{patient_id}", "Practitioner/okafor"} <= actors
    assert ehr.reference("Slot", chosen.id).to_resource()["status"] == "busy"

    # Through the same scheduling path as every channel: audited under the token's user,
    # reminders planned, booked via "fhir".
    with services.sessions() as db:
        row = db.get(Appointment, int(appointment.id))
        assert row.booked_via == "fhir"
        assert db.scalars(select(Reminder).where(Reminder.appointment_id == row.id)).all()
        [booked_event] = db.scalars(
            select(AuditEvent).where(AuditEvent.kind == "appointment_booked")
        ).all()
    assert booked_event.actor == "staff:frontdesk" and booked_event.channel == "fhir"

    # Found by patient and date; not on another day.
    mine = ehr.resources("Appointment").search(patient=f"Patient/{patient_id}", date=WEEK[0])
    assert [a.id for a in mine.search(date=WEEK[1]).fetch_all()] == [appointment.id]
    day = chosen["start"][:10]
    assert [a.id for a in ehr.resources("Appointment").search(date=day).fetch_all()] == [
        appointment.id
    ]
    assert ehr.resources("Appointment").search(date="2026-03-20").fetch_all() == []

    # Cancelled by sending it back with status cancelled (PUT); the Slot is free again.
    read_back["status"] = "cancelled"
    read_back.save()
    assert ehr.reference("Appointment", appointment.id).to_resource()["status"] == "cancelled"
    assert ehr.reference("Slot", chosen.id).to_resource()["status"] == "free"
    with services.sessions() as db:
        assert db.get(Appointment, int(appointment.id)).status == AppointmentStatus.CANCELLED

    # The patient by phone, minimum necessary.
    [patient] = ehr.resources("Patient").search(identifier=f"tel:{PHONE}").fetch_all()
    assert patient.id == str(patient_id)
    assert set(patient) <= {"resourceType", "id", "active", "identifier", "telecom", "name"}
    assert patient["telecom"][0]["value"] == PHONE
    assert live.checker.checked >= 10 and live.checker.problems == []


def test_a_patch_cancels_and_a_taken_slot_is_a_conflict(ehr, live, patient_id):
    [slot] = ehr.resources("Slot").search(schedule="okafor", start="2026-03-05").limit(1).fetch()
    body = {
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot.id}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }
    appointment = ehr.resource("Appointment", **body)
    appointment.save()
    with pytest.raises(OperationOutcome) as taken:
        ehr.resource("Appointment", **body).save()
    assert "not free" in str(taken.value)

    patched = ehr.patch("Appointment", appointment.id, status="cancelled")  # a merge patch
    assert patched["status"] == "cancelled"
    assert ehr.reference("Slot", slot.id).to_resource()["status"] == "free"
    with pytest.raises(ResourceNotFound):
        ehr.reference("Appointment", "999999").to_resource()
    assert live.checker.problems == []


def test_the_clinic_as_an_ehr_reads_it(ehr):
    practitioners = ehr.resources("Practitioner").limit(2).fetch_all()
    assert {p.id for p in practitioners} == {"okafor", "lindqvist", "moreau", "tanaka"}
    locations = {loc.id: loc for loc in ehr.resources("Location").fetch_all()}
    assert locations["clinic.site"]["physicalType"]["coding"][0]["code"] == "si"
    assert locations["exam-1"]["partOf"].reference == "Location/clinic.site"
    services = {s.id: s for s in ehr.resources("HealthcareService").fetch_all()}
    assert services["checkup"]["extension"][0]["valueInteger"] == 30
    [schedule] = ehr.resources("Schedule").search(actor="Practitioner/moreau").fetch_all()
    offered = {c["coding"][0]["code"] for c in schedule["serviceType"]}
    assert "vaccination" in offered and schedule.id == "moreau"
