"""PATCH /api/v1/appointments/{id}: a visit that has started marked attended (`fulfilled`) or a
no-show (`noshow`) through SchedulingTools.mark_attendance, audited with the token's user; every
refusal a problem; and `attendance_unmarked` in every appointment the API answers with.

The test clock is Wednesday 2026-03-04 09:00 in New York."""

from __future__ import annotations

from datetime import date, time

import pytest

from scheduler.models import Appointment, AppointmentStatus
from tests.adapters.api.support import audit_events, book_earlier, counts

TODAY, MONDAY, TUESDAY = date(2026, 3, 4), date(2026, 3, 2), date(2026, 3, 3)


def mark(client, headers, appointment_id, body):
    return client.patch(f"/api/v1/appointments/{appointment_id}", json=body, headers=headers)


def problem_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    return problem


def status_of(services, appointment_id):
    with services.sessions() as db:
        return db.get(Appointment, appointment_id).status


@pytest.fixture
def started(services, patient_id):
    """A check-up with Dr. Okafor at 8 this morning: started (and over) at 9."""
    return book_earlier(services, patient_id, TODAY, time(8, 0))


@pytest.fixture
def ahead(client, staff, patient_id):
    """A check-up tomorrow, booked through the API."""
    slots = client.get(
        "/api/v1/slots?type=checkup&from=2026-03-05&to=2026-03-05", headers=staff
    ).get_json()["items"]
    body = {"patient": patient_id, "appointment_type": "checkup", "start": slots[0]["start"]}
    booked = client.post("/api/v1/appointments", json=body, headers=staff)
    assert booked.status_code == 201, booked.get_json()
    return booked.get_json()["id"]


def test_marking_a_started_visit_answers_it_and_is_audited_with_the_tokens_user(
    client, services, staff, started, patient_id
):
    response = mark(client, staff, started, {"status": "fulfilled"})
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    marked = response.get_json()
    assert marked["id"] == started and marked["status"] == "fulfilled"
    assert marked["start"] == "2026-03-04T08:00:00-05:00" and marked["patient"] == patient_id
    assert marked["attendance_unmarked"] is False
    assert client.get(f"/api/v1/appointments/{started}", headers=staff).get_json() == marked
    assert status_of(services, started) == AppointmentStatus.FULFILLED
    [event] = audit_events(services, "attendance_marked")
    assert (event.actor, event.channel, event.appointment_id, event.patient_id) == (
        "staff:frontdesk",
        "api",
        started,
        patient_id,
    )
    assert event.detail["outcome"] == "fulfilled" and event.detail["previous"] == "booked"


def test_marking_again_is_a_200_and_the_other_way_a_correction(client, services, users, started):
    first = mark(client, users.staff, started, {"status": "fulfilled"})
    again = mark(client, users.staff, started, {"status": "fulfilled"})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    corrected = mark(client, users.admin, started, {"status": "noshow"})
    assert corrected.status_code == 200 and corrected.get_json()["status"] == "noshow"
    assert status_of(services, started) == AppointmentStatus.NOSHOW
    events = audit_events(services, "attendance_marked")
    assert [(e.actor, e.detail["outcome"], e.detail["previous"]) for e in events] == [
        ("staff:frontdesk", "fulfilled", "booked"),
        ("staff:frontdesk", "fulfilled", "fulfilled"),  # each request is on the record
        ("admin:manager", "noshow", "fulfilled"),
    ]


def test_a_visit_not_started_yet_is_a_409_and_changes_nothing(client, services, staff, ahead):
    before = counts(services)
    problem = problem_of(mark(client, staff, ahead, {"status": "noshow"}), 409)
    assert problem["code"] == "not_started" and problem["type"].endswith(":conflict")
    assert "not started yet" in problem["detail"]
    assert counts(services) == before
    [refused] = audit_events(services, "request_refused")
    assert (refused.actor, refused.detail["action"], refused.appointment_id) == (
        "staff:frontdesk",
        "attendance",
        ahead,
    )
    assert audit_events(services, "attendance_marked") == []


def test_a_cancelled_visit_is_a_409(client, services, staff, ahead):
    assert client.delete(f"/api/v1/appointments/{ahead}", headers=staff).status_code == 200
    problem = problem_of(mark(client, staff, ahead, {"status": "fulfilled"}), 409)
    assert problem["code"] == "closed" and "cancelled" in problem["detail"]
    assert status_of(services, ahead) == AppointmentStatus.CANCELLED


def test_an_unknown_id_is_a_404(client, services, staff):
    problem = problem_of(mark(client, staff, 999, {"status": "fulfilled"}), 404)
    assert problem["type"].endswith(":not-found")
    problem_of(mark(client, staff, 2**63, {"status": "fulfilled"}), 404)  # beyond any id
    assert audit_events(services, "attendance_marked") == []


@pytest.mark.parametrize(
    "body",
    [
        {"status": "cancelled"},
        {"status": "booked"},
        {"status": "arrived"},
        {"status": "entered-in-error"},
        {"status": "FULFILLED"},
        {"status": "attended"},
        {"status": 1},
        {"status": None},
        {},
        {"status": "fulfilled", "note": "came late"},  # unknown field
    ],
)
def test_any_other_status_or_body_is_a_422_naming_the_field(client, services, staff, started, body):
    before = counts(services, audit=True)
    problem = problem_of(mark(client, staff, started, body), 422)
    assert problem["errors"] and set(problem["errors"]) <= {"status", "note"}
    assert counts(services, audit=True) == before


@pytest.mark.parametrize(
    ("raw", "status"), [(b'{"status": ', 400), (b"[1]", 422), (b'"fulfilled"', 422), (b"", 422)]
)
def test_a_body_that_is_not_a_json_object_is_a_problem(
    client, services, staff, started, raw, status
):
    before = counts(services, audit=True)
    response = client.patch(
        f"/api/v1/appointments/{started}", data=raw, content_type="application/json", headers=staff
    )
    problem_of(response, status)
    assert counts(services, audit=True) == before


@pytest.mark.parametrize(
    ("who", "status"), [("anonymous", 401), ("wrong", 401), ("revoked", 401), ("other_role", 403)]
)
def test_callers_without_a_staff_token_are_refused(client, services, users, started, who, status):
    before = counts(services, audit=True)
    problem_of(mark(client, getattr(users, who), started, {"status": "fulfilled"}), status)
    assert counts(services, audit=True) == before


def test_attendance_unmarked_is_a_visit_still_booked_a_day_after_its_end(
    client, services, staff, patient_id, started
):
    monday = book_earlier(services, patient_id, MONDAY, time(10, 0))  # ended two days ago
    tuesday = book_earlier(services, patient_id, TUESDAY, time(16, 0))  # ended 16.5 hours ago
    one = {
        i: client.get(f"/api/v1/appointments/{i}", headers=staff).get_json()["attendance_unmarked"]
        for i in (monday, tuesday, started)
    }
    assert one == {monday: True, tuesday: False, started: False}
    listed = client.get("/api/v1/appointments?from=2026-03-02&to=2026-03-04", headers=staff)
    assert {a["id"]: a["attendance_unmarked"] for a in listed.get_json()["items"]} == one
    marked = mark(client, staff, monday, {"status": "noshow"}).get_json()
    assert marked["status"] == "noshow" and marked["attendance_unmarked"] is False
    unmarked_list = client.get("/api/v1/appointments?to=2026-03-04", headers=staff).get_json()
    assert monday in {a["id"] for a in unmarked_list["items"]}  # listed, and marked now
    assert not any(a["attendance_unmarked"] for a in unmarked_list["items"])


def test_the_document_has_the_patch_and_the_field(client):
    document = client.get("/api/v1/openapi.json").get_json()
    patch = document["paths"]["/api/v1/appointments/{appointment_id}"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/Attendance")
    assert {"200", "401", "403", "404", "409", "422"} <= set(patch["responses"])
    schemas = document["components"]["schemas"]
    assert schemas["Attendance"]["properties"]["status"]["enum"] == ["fulfilled", "noshow"]
    assert schemas["Attendance"]["required"] == ["status"]
    assert schemas["Appointment"]["properties"]["attendance_unmarked"]["type"] == "boolean"
    assert "attendance_unmarked" in schemas["Appointment"]["required"]
