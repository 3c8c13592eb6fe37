"""`Idempotency-Key` on POST: once, answered the same; another body with the key refused; two at
the same moment book once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from scheduler.models import Appointment, IdempotentRequest
from tests.adapters.api.support import OTHER_PHONE, counts


def slot_start(client, headers, index=0):
    slots = client.get(
        "/api/v1/slots?type=checkup&from=2026-03-05&to=2026-03-05", headers=headers
    ).get_json()["items"]
    return slots[index]["start"]


def test_the_same_key_twice_books_once_and_answers_the_same(client, services, staff, patient_id):
    body = {
        "patient": patient_id,
        "appointment_type": "checkup",
        "start": slot_start(client, staff),
    }
    headers = {**staff, "Idempotency-Key": "order-7781"}
    first = client.post("/api/v1/appointments", json=body, headers=headers)
    assert first.status_code == 201
    after_first = counts(services, audit=True)
    again = client.post("/api/v1/appointments", json=body, headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert counts(services, audit=True) == after_first  # nothing booked or audited again
    # The key order of the JSON does not make it another request.
    reordered = {"start": body["start"], "appointment_type": "checkup", "patient": patient_id}
    assert client.post("/api/v1/appointments", json=reordered, headers=headers).get_json() == (
        first.get_json()
    )
    with services.sessions() as db:
        row = db.scalars(select(IdempotentRequest)).one()
        assert row.status == 201 and b"checkup" not in row.body_enc  # stored encrypted


def test_the_same_key_with_another_body_is_a_422(client, services, staff, patient_id):
    headers = {**staff, "Idempotency-Key": "order-7782"}
    body = {
        "patient": patient_id,
        "appointment_type": "checkup",
        "start": slot_start(client, staff),
    }
    assert client.post("/api/v1/appointments", json=body, headers=headers).status_code == 201
    before = counts(services)
    other = {**body, "start": slot_start(client, staff, 8)}
    response = client.post("/api/v1/appointments", json=other, headers=headers)
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert response.get_json()["type"].endswith(":idempotency-key-reused")
    # ... and on another path.
    patient = {"phone": OTHER_PHONE, "name": "Robin Examplename"}
    assert client.post("/api/v1/patients", json=patient, headers=headers).status_code == 422
    assert counts(services) == before


def test_keys_are_per_user_and_a_refusal_is_answered_the_same(client, services, users, patient_id):
    start = slot_start(client, users.staff)
    body = {
        "patient": patient_id,
        "appointment_type": "checkup",
        "start": start,
        "provider": "okafor",
    }
    key = {"Idempotency-Key": "shared-key"}
    assert (
        client.post("/api/v1/appointments", json=body, headers={**users.staff, **key}).status_code
        == 201
    )
    taken = client.post("/api/v1/appointments", json=body, headers={**users.admin, **key})
    assert taken.status_code == 409  # the admin's own key: done, and refused (taken)
    replay = client.post("/api/v1/appointments", json=body, headers={**users.admin, **key})
    assert (replay.status_code, replay.get_json()) == (409, taken.get_json())
    assert replay.content_type == "application/problem+json"


def test_a_request_refused_as_invalid_stores_nothing_so_it_can_be_corrected(
    client, services, staff, patient_id
):
    headers = {**staff, "Idempotency-Key": "order-7783"}
    bad = {"patient": patient_id, "appointment_type": "checkup", "start": "2026-03-05T09:00"}
    assert client.post("/api/v1/appointments", json=bad, headers=headers).status_code == 422
    good = {**bad, "start": slot_start(client, staff)}
    assert client.post("/api/v1/appointments", json=good, headers=headers).status_code == 201


def test_a_key_that_is_not_valid_is_a_422(client, services, staff, patient_id):
    body = {
        "patient": patient_id,
        "appointment_type": "checkup",
        "start": slot_start(client, staff),
    }
    before = counts(services)
    for key in ("k" * 201, "two words", "caf\u00e9".encode().decode("latin-1")):
        response = client.post(
            "/api/v1/appointments", json=body, headers={**staff, "Idempotency-Key": key}
        )
        assert response.status_code == 422
        assert "Idempotency-Key" in response.get_json()["errors"]
    assert counts(services) == before
    ok = client.post(
        "/api/v1/appointments", json=body, headers={**staff, "Idempotency-Key": "k" * 200}
    )
    assert ok.status_code == 201


def test_two_requests_with_the_same_key_at_once_book_once(app, services, staff, patient_id):
    """On PostgreSQL the second's insert of the key waits for the first's transaction, then
    fails on the primary key and answers the first's answer; on SQLite they queue."""
    client = app.test_client()
    body = {
        "patient": patient_id,
        "appointment_type": "checkup",
        "start": slot_start(client, staff),
    }
    headers = {**staff, "Idempotency-Key": "double-click"}
    answers: list = [None] * 6
    gate = threading.Barrier(len(answers))

    def send(i: int) -> None:
        gate.wait()
        response = app.test_client().post("/api/v1/appointments", json=body, headers=headers)
        answers[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(answers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {201}, answers
    assert len({a["id"] for _, a in answers}) == 1
    with services.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Appointment)) == 1
