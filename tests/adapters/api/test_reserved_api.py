"""Times the clinic keeps for urgent patients, over /api/v1: a search and a booking at the
default level never reach them; `urgency: urgent` (staff's judgement) opens them, and the
booking's audit event says so. The clinic keeps two same-day and one next-day sick-visit times per
provider (for Nurse Practitioner Moreau on Wednesday 2026-03-04: 09:00, 11:30 and 14:30, worked
out in tests/scheduler/test_reserved.py); the clock is that Wednesday, 09:00 in New York."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app
from tests.adapters.api.support import api_settings, audit_events, counts, local
from tests.reserved_support import reserving_clinic_file

KEPT = "2026-03-04T14:30:00-05:00"  # Moreau's same-day 14:30


@pytest.fixture
def app(tmp_path, database_url, clock):
    clinic_file = reserving_clinic_file(tmp_path)
    settings = replace(api_settings(tmp_path, database_url), clinic_config=clinic_file)
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["clinic_scheduler"].engine.dispose()


def starts(client, staff, **query) -> list[str]:
    asked = {"type": "sick-visit", "provider": "moreau", "from": "2026-03-04", "to": "2026-03-04"}
    answer = client.get("/api/v1/slots", query_string={**asked, **query}, headers=staff)
    assert answer.status_code == 200, answer.get_json()
    return [f"{local(item['start']):%H:%M}" for item in answer.get_json()["items"]]


def test_open_times_leave_out_reserved_ones_unless_the_search_is_urgent(client, staff):
    routine = starts(client, staff, limit=200)
    assert "14:30" not in routine and "11:30" not in routine and "14:00" in routine
    urgent = starts(client, staff, limit=200, urgency="urgent")
    assert {"11:30", "14:30"} <= set(urgent)
    assert (
        client.get(
            "/api/v1/slots",
            query_string={"type": "sick-visit", "urgency": "emergency"},
            headers=staff,
        ).status_code
        == 422
    )


def test_a_reserved_time_is_booked_only_for_a_patient_staff_judge_urgent(
    client, services, staff, patient_id
):
    body = {
        "patient": patient_id,
        "appointment_type": "sick-visit",
        "start": KEPT,
        "provider": "moreau",
    }
    before = counts(services)
    for asked in ({}, {"urgency": "routine"}, {"urgency": "soon"}):
        refused = client.post("/api/v1/appointments", json=body | asked, headers=staff)
        assert refused.status_code == 409, refused.get_json()
        assert refused.get_json()["code"] == "reserved"
    assert counts(services) == before

    booked = client.post("/api/v1/appointments", json=body | {"urgency": "urgent"}, headers=staff)
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["provider"] == "moreau"
    assert booked.get_json()["start"] == KEPT
    [event] = audit_events(services, "appointment_booked")
    assert (event.actor, event.detail["urgency"]) == ("staff:frontdesk", "urgent")


def test_an_emergency_level_is_not_a_booking_level(client, services, staff, patient_id):
    body = {
        "patient": patient_id,
        "appointment_type": "sick-visit",
        "start": KEPT,
        "provider": "moreau",
    }
    before = counts(services)
    refused = client.post(
        "/api/v1/appointments", json=body | {"urgency": "emergency"}, headers=staff
    )
    assert refused.status_code == 422
    assert counts(services) == before
