"""Bad input under /api/v1: each the right 4xx as an RFC 9457 problem, and nothing changed; an
unexpected failure a 500 problem without a trace; the rest of the app's errors left as they were."""

from __future__ import annotations

import logging

import pytest

from adapters.api import calls
from tests.adapters.api.support import counts
from tests.twilio_support import PUBLIC_BASE_URL

TOMORROW_9 = "2026-03-05T09:00:00-05:00"


def booking(patient_id, **changes):
    body = {"patient": patient_id, "appointment_type": "checkup", "start": TOMORROW_9}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def problem_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["type"] and problem["title"]
    assert isinstance(problem["detail"], str)
    assert "Traceback" not in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return problem


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"patient": "1"}, "patient"),  # wrong types
        ({"patient": True}, "patient"),
        ({"patient": 1.5}, "patient"),
        ({"patient": 0}, "patient"),
        ({"patient": 2**40}, "patient"),
        ({"appointment_type": 7}, "appointment_type"),
        ({"appointment_type": "Check Up!"}, "appointment_type"),
        ({"start": "2026-03-05T09:00:00"}, "start"),  # naive: no offset
        ({"start": "2026-02-30T09:00:00-05:00"}, "start"),  # no such day
        ({"start": "2026-03-05T25:00:00-05:00"}, "start"),
        ({"start": "tomorrow at nine"}, "start"),
        ({"start": "0001-01-01T00:00:00+14:00"}, "start"),
        ({"start": None}, "start"),  # missing
        ({"colour": "blue"}, "colour"),  # unknown field
    ],
)
def test_a_booking_body_that_is_not_valid_is_a_422_naming_the_field(
    client, services, staff, patient_id, changes, field
):
    before = counts(services)
    response = client.post(
        "/api/v1/appointments", json=booking(patient_id, **changes), headers=staff
    )
    problem = problem_of(response, 422)
    assert field in problem["errors"], problem
    assert all(isinstance(m, str) for m in problem["errors"][field])
    assert counts(services) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"patient": 1, "appointment_type": ', 400),  # malformed JSON
        (b"[1, 2, 3]", 422),  # not an object
        (b'"a string"', 422),
        (b"", 422),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_problem(client, services, staff, body, status):
    before = counts(services)
    response = client.post(
        "/api/v1/appointments", data=body, content_type="application/json", headers=staff
    )
    problem_of(response, status)
    assert counts(services) == before


def test_unknown_ids_are_404(client, services, staff, patient_id):
    before = counts(services)
    for path in (
        "/api/v1/appointments/999",
        "/api/v1/patients/999",
        "/api/v1/appointments?provider=nobody",
        "/api/v1/appointments?patient=999",
        "/api/v1/slots?type=massage",
        "/api/v1/slots?type=checkup&provider=nobody",
        "/api/v1/waitlist?patient=999",
    ):
        assert problem_of(client.get(path, headers=staff), 404)["type"].endswith("not-found"), path
    for method, path, body in (
        ("PUT", "/api/v1/appointments/999", {"start": TOMORROW_9}),
        ("DELETE", "/api/v1/appointments/999", None),
        ("DELETE", "/api/v1/waitlist/999", None),
        ("POST", "/api/v1/appointments", booking(999)),
        ("POST", "/api/v1/appointments", booking(patient_id, appointment_type="massage")),
        ("POST", "/api/v1/appointments", booking(patient_id, provider="nobody")),
        ("POST", "/api/v1/waitlist", {"patient": 999, "appointment_type": "checkup"}),
        ("POST", "/api/v1/waitlist", {"patient": patient_id, "appointment_type": "massage"}),
    ):
        problem_of(client.open(path, method=method, json=body, headers=staff), 404)
    # An id beyond the database's integers names nothing: the router's 404, a problem too.
    problem_of(client.get(f"/api/v1/appointments/{2**63}", headers=staff), 404)
    assert counts(services) == before


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2026-03-03T09:00:00-05:00", "passed"),  # yesterday
        ("2026-03-04T09:30:00-05:00", "notice"),  # in half an hour: inside the 2 h notice
        ("2026-09-01T09:00:00-04:00", "horizon"),  # beyond the 90 days
        ("2026-03-05T03:00:00-05:00", "outside_window"),  # nobody works at 3 in the morning
        ("2026-03-05T09:07:00-05:00", "outside_window"),  # not on the 15-minute grid
    ],
)
def test_a_time_that_can_never_be_booked_is_a_422_with_alternatives(
    client, services, staff, patient_id, start, code
):
    before = counts(services)
    for provider in (None, "okafor"):
        response = client.post(
            "/api/v1/appointments",
            json=booking(patient_id, start=start, provider=provider),
            headers=staff,
        )
        problem = problem_of(response, 422)
        assert problem["code"] == code and problem["type"].endswith(":outside-booking-window")
        assert "start" in problem["errors"]
        assert problem["alternatives"], problem
    assert counts(services) == before


def test_moving_to_the_past_is_a_422_and_moving_a_cancelled_one_a_409(
    client, services, staff, patient_id
):
    booked = client.post("/api/v1/appointments", json=booking(patient_id), headers=staff)
    assert booked.status_code == 201
    path = booked.headers["Location"]
    before = counts(services)
    problem = problem_of(
        client.put(path, json={"start": "2026-03-01T09:00:00-05:00"}, headers=staff), 422
    )
    assert problem["code"] == "passed"
    problem_of(client.put(path, json={"start": "2026-03-05T09:00"}, headers=staff), 422)
    problem_of(client.put(path, json={}, headers=staff), 422)
    assert counts(services) == before
    client.delete(path, headers=staff)
    problem = problem_of(client.put(path, json={"start": TOMORROW_9}, headers=staff), 409)
    assert problem["code"] == "already_cancelled"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=ten",
        "cursor=not-a-cursor",
        "cursor=%21%21",
        "cursor=" + "A" * 300,
        "from=2026-02-30",
        "from=2026-03-06&to=2026-03-05",
        "from=1066-10-14",
        "status=done",
        "patient=-1",
        "provider=Dr%20Who",
    ],
)
def test_a_list_query_that_is_not_valid_is_a_422(client, staff, query):
    problem = problem_of(client.get(f"/api/v1/appointments?{query}", headers=staff), 422)
    assert problem["errors"]


def test_a_body_over_64_kib_is_a_413_before_it_is_read(client, services, staff, patient_id):
    before = counts(services)
    big = {**booking(patient_id), "padding": "x" * (64 * 1024)}
    problem_of(client.post("/api/v1/appointments", json=big, headers=staff), 413)
    # Without a Content-Length, on a server that ends the stream itself (chunked): the same,
    # as soon as reading passes the limit.
    response = client.post(
        "/api/v1/appointments",
        input_stream=__import__("io").BytesIO(b'{"a": "' + b"x" * (70 * 1024) + b'"}'),
        content_type="application/json",
        headers=staff,
        environ_overrides={"wsgi.input_terminated": True},
    )
    problem_of(response, 413)
    # Just under the limit is read (and refused for what it says, not for its size).
    near = {**booking(patient_id), "padding": "x" * (60 * 1024)}
    assert problem_of(client.post("/api/v1/appointments", json=near, headers=staff), 422)
    assert counts(services) == before


def test_patients_bad_input(client, services, staff):
    before = counts(services)
    for body, field in (
        ({"phone": "212-555-0142", "name": "Sam Sample"}, "phone"),  # not E.164
        ({"phone": "+1555", "name": "Sam Sample"}, "phone"),
        ({"phone": "+99912345678", "name": "Sam Sample"}, "phone"),  # no such country
        ({"phone": "+12125550142", "name": ""}, "name"),
        ({"phone": "+12125550142", "name": "Sam\x00Sample"}, "name"),
        ({"phone": "+12125550142"}, "name"),
    ):
        problem = problem_of(client.post("/api/v1/patients", json=body, headers=staff), 422)
        assert field in problem["errors"], (body, problem)
    problem_of(client.get("/api/v1/patients", headers=staff), 422)  # q is required
    assert counts(services) == before


def test_waitlist_bad_input(client, services, staff, patient_id):
    before = counts(services)
    for body, field in (
        ({"patient": patient_id, "appointment_type": "checkup", "priority": "asap"}, "priority"),
        (
            {
                "patient": patient_id,
                "appointment_type": "checkup",
                "earliest": "2026-03-10",
                "latest": "2026-03-09",
            },
            "latest",
        ),
        (
            {"patient": patient_id, "appointment_type": "checkup", "earliest": "2026-13-01"},
            "earliest",
        ),
        ({"appointment_type": "checkup"}, "patient"),
    ):
        problem = problem_of(client.post("/api/v1/waitlist", json=body, headers=staff), 422)
        assert field in problem["errors"], (body, problem)
    assert counts(services) == before
    entry = client.post(
        "/api/v1/waitlist",
        json={"patient": patient_id, "appointment_type": "checkup"},
        headers=staff,
    ).get_json()
    assert client.delete(f"/api/v1/waitlist/{entry['id']}", headers=staff).status_code == 200
    problem_of(client.delete(f"/api/v1/waitlist/{entry['id']}", headers=staff), 409)


def test_unknown_paths_and_methods_under_the_api_are_problems(client, staff):
    problem_of(client.get("/api/v1/nowhere", headers=staff), 404)
    problem_of(client.get("/api/v1", headers=staff), 404)
    problem_of(client.get("/api/v1/docs/secret.txt"), 404)
    response = client.patch("/api/v1/appointments", headers=staff)
    problem_of(response, 405)
    assert "POST" in response.headers["Allow"]


def test_the_rest_of_the_app_keeps_its_own_errors(client):
    """flask-smorest would answer every route's errors in JSON; only /api/v1 answers problems."""
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.content_type.startswith("text/html")
    assert client.get("/apiv1/appointments").content_type.startswith("text/html")
    wrong_method = client.get("/twilio/sms")
    assert wrong_method.status_code == 405 and wrong_method.content_type.startswith("text/html")


def test_the_twilio_webhook_refusal_stays_as_it_was(tmp_path, database_url):
    from app import create_app
    from tests.twilio_support import sms_settings

    app = create_app(
        {"SETTINGS": sms_settings(tmp_path, database_url=database_url), "TESTING": True}
    )
    response = app.test_client().post(
        "/twilio/sms",
        data={"From": "+12125550142", "Body": "hi", "MessageSid": "SM" + "0" * 32},
        base_url=PUBLIC_BASE_URL,
    )
    assert response.status_code == 403
    assert response.content_type.startswith("text/plain")
    app.extensions["clinic_scheduler"].engine.dispose()


def test_an_unexpected_failure_is_a_500_problem_naming_only_its_type(
    client, services, staff, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("+12125550142 Jordan Testperson")  # what a log must never show

    monkeypatch.setattr(calls, "authenticate", broken)
    with caplog.at_level(logging.ERROR, logger="scheduler.api"):
        response = client.get("/api/v1/providers", headers=staff)
    problem = problem_of(response, 500)
    assert "5550142" not in response.get_data(as_text=True)
    assert [r.getMessage() for r in caplog.records] == ["api request failed: RuntimeError"]
    assert problem["detail"]
