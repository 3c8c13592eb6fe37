"""/api/v1/appointments end to end: find a time, book, read, move, cancel, list, through the real
app; the same scheduling path as the channels (audited under the token's user, reminders planned,
a freed time offered to the waitlist); once over real HTTP."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import datetime

from sqlalchemy import select
from werkzeug.serving import make_server

from scheduler.models import Appointment, AppointmentStatus, Reminder, WaitlistOffer
from tests.adapters.api.support import (
    NEW_YORK,
    OTHER_PHONE,
    add_patient,
    audit_events,
    counts,
    local,
)


def open_slots(client, headers, type_="checkup", day="2026-03-05", **query):
    response = client.get(
        "/api/v1/slots",
        query_string={"type": type_, "from": day, "to": day, **query},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def book(client, headers, patient_id, slot, **extra):
    body = {"patient": patient_id, "appointment_type": slot["appointment_type"]}
    body.update(start=slot["start"], **extra)
    return client.post("/api/v1/appointments", json=body, headers=headers)


def test_book_read_move_cancel_and_list(client, services, staff, patient_id):
    slots = open_slots(client, staff)
    assert slots and all(local(s["start"]).date().isoformat() == "2026-03-05" for s in slots)
    assert slots[0]["start"].endswith("-05:00")  # the clinic's offset, not UTC

    booked = book(client, staff, patient_id, slots[0])
    assert booked.status_code == 201, booked.get_json()
    appointment = booked.get_json()
    assert booked.headers["Location"] == f"/api/v1/appointments/{appointment['id']}"
    assert appointment == {
        "id": appointment["id"],
        "status": "booked",
        "start": slots[0]["start"],
        "end": slots[0]["end"],
        "provider": slots[0]["provider"],
        "appointment_type": "checkup",
        "patient": patient_id,
        "room": appointment["room"],
        "equipment": None,
        "attendance_unmarked": False,
    }
    assert appointment["room"] in ("exam-1", "exam-2")
    assert client.get(booked.headers["Location"], headers=staff).get_json() == appointment

    later = open_slots(client, staff, day="2026-03-06", provider=appointment["provider"])[2]
    moved = client.put(booked.headers["Location"], json={"start": later["start"]}, headers=staff)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["start"] == later["start"]
    assert moved.get_json()["provider"] == appointment["provider"]  # kept when not given
    assert moved.get_json()["id"] == appointment["id"]

    listed = client.get("/api/v1/appointments?from=2026-03-06&to=2026-03-06", headers=staff)
    assert [a["id"] for a in listed.get_json()["items"]] == [appointment["id"]]
    assert listed.get_json()["next_cursor"] is None
    assert client.get("/api/v1/appointments?to=2026-03-05", headers=staff).get_json()["items"] == []

    cancelled = client.delete(booked.headers["Location"], headers=staff)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    with services.sessions() as db:
        row = db.get(Appointment, appointment["id"])
        assert row.status == AppointmentStatus.CANCELLED  # the row stays
    again = client.delete(booked.headers["Location"], headers=staff)
    assert again.status_code == 409 and again.get_json()["code"] == "already_cancelled"
    statuses = client.get("/api/v1/appointments?status=cancelled", headers=staff).get_json()
    assert [a["id"] for a in statuses["items"]] == [appointment["id"]]


def test_changes_are_audited_under_the_tokens_user_and_reminders_planned(
    client, services, users, patient_id
):
    slot = open_slots(client, users.staff)[0]
    appointment = book(client, users.staff, patient_id, slot).get_json()
    with services.sessions() as db:
        reminders = db.scalars(
            select(Reminder).where(Reminder.appointment_id == appointment["id"])
        ).all()
    assert reminders and all(r.status == "pending" for r in reminders)
    [event] = audit_events(services, "appointment_booked")
    assert (event.actor, event.channel, event.patient_id) == ("staff:frontdesk", "api", patient_id)

    response = client.delete(f"/api/v1/appointments/{appointment['id']}", headers=users.admin)
    assert response.status_code == 200
    [event] = audit_events(services, "appointment_cancelled")
    assert event.actor == "admin:manager"
    with services.sessions() as db:
        assert all(
            r.status == "cancelled"
            for r in db.scalars(
                select(Reminder).where(Reminder.appointment_id == appointment["id"])
            )
        )


def test_a_cancelled_time_is_offered_to_the_waitlist(client, services, staff, patient_id):
    waiting = add_patient(services, OTHER_PHONE, "Robin Examplename")
    slot = open_slots(client, staff)[0]
    appointment = book(client, staff, patient_id, slot).get_json()
    joined = client.post(
        "/api/v1/waitlist", json={"patient": waiting, "appointment_type": "checkup"}, headers=staff
    )
    assert joined.status_code == 201, joined.get_json()

    assert (
        client.delete(f"/api/v1/appointments/{appointment['id']}", headers=staff).status_code == 200
    )
    with services.sessions() as db:
        [offer] = db.scalars(select(WaitlistOffer)).all()
        [text] = db.scalars(select(Reminder).where(Reminder.kind == "offer")).all()
    assert offer.patient_id == waiting and offer.status == "offered"
    assert datetime.fromisoformat(offer.slot["start"]) == datetime.fromisoformat(slot["start"])
    assert text.offer_id == offer.id


def test_booking_without_a_provider_takes_whoever_is_free_then(client, staff, patient_id):
    slot = open_slots(client, staff)[0]
    first = book(client, staff, patient_id, slot)
    assert first.status_code == 201
    # The same start again: another provider may still be free then, or it is a 409.
    second = book(client, staff, patient_id, slot)
    if second.status_code == 201:
        assert second.get_json()["provider"] != first.get_json()["provider"]
    else:
        assert second.status_code == 409


def test_a_taken_time_is_a_409_with_alternatives_and_changes_nothing(
    client, services, staff, patient_id
):
    slot = open_slots(client, staff)[0]
    assert book(client, staff, patient_id, slot, provider=slot["provider"]).status_code == 201
    before = counts(services)
    taken = book(client, staff, patient_id, slot, provider=slot["provider"])
    assert taken.status_code == 409
    assert taken.content_type == "application/problem+json"
    problem = taken.get_json()
    assert problem["type"].endswith(":slot-unavailable") and problem["status"] == 409
    assert problem["alternatives"], problem
    assert all(set(a) == set(slot) for a in problem["alternatives"])
    assert slot["start"] not in [
        a["start"] for a in problem["alternatives"] if a["provider"] == slot["provider"]
    ]
    assert counts(services) == before
    [refused] = audit_events(services, "request_refused")
    assert refused.actor == "staff:frontdesk" and refused.detail["reason"] == "SlotUnavailable"


def test_moving_onto_a_taken_time_keeps_the_old_one(client, services, staff, patient_id):
    slots = open_slots(client, staff, provider="okafor")
    first, second = slots[0], slots[4]  # an hour apart
    a = book(client, staff, patient_id, first, provider="okafor").get_json()
    assert book(client, staff, patient_id, second, provider="okafor").status_code == 201
    before = counts(services)
    response = client.put(
        f"/api/v1/appointments/{a['id']}", json={"start": second["start"]}, headers=staff
    )
    assert response.status_code == 409 and response.get_json()["alternatives"]
    assert counts(services) == before


def test_over_real_http(app, services, users, patient_id):
    """The app served by werkzeug on a free port, called with urllib: headers, bodies and
    problems as a client sees them."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"

    def call(method, path, body=None, headers=users.staff):
        request = urllib.request.Request(
            base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={**headers, **({"Content-Type": "application/json"} if body else {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    try:
        status, _, slots = call("GET", "/api/v1/slots?type=checkup&from=2026-03-05&to=2026-03-05")
        assert status == 200
        slot = slots["items"][0]
        body = {"patient": patient_id, "appointment_type": "checkup", "start": slot["start"]}
        status, headers, booked = call(
            "POST", "/api/v1/appointments", body, {**users.staff, "Idempotency-Key": "http-1"}
        )
        assert status == 201 and headers["Location"].endswith(f"/{booked['id']}")
        status, headers, again = call(
            "POST", "/api/v1/appointments", body, {**users.staff, "Idempotency-Key": "http-1"}
        )
        assert (status, again, headers["Idempotent-Replayed"]) == (201, booked, "true")
        status, _, listed = call("GET", "/api/v1/appointments?from=2026-03-05&to=2026-03-05")
        assert [a["id"] for a in listed["items"]] == [booked["id"]]
        status, headers, problem = call("GET", "/api/v1/appointments", headers={})
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert headers["Content-Type"] == "application/problem+json"
        assert problem["title"] == "Unauthorized"
        status, _, cancelled = call("DELETE", f"/api/v1/appointments/{booked['id']}")
        assert (status, cancelled["status"]) == (200, "cancelled")
    finally:
        server.shutdown()
        server.server_close()
    assert [e.kind for e in audit_events(services) if e.channel == "api"] == [
        "appointment_booked",
        "appointment_cancelled",
    ]
    assert local(slot["start"]).tzinfo == NEW_YORK
