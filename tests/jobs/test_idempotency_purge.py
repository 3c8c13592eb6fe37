"""Idempotency keys are remembered for 24 hours: the maintenance job deletes older records, and
the API treats a key older than that as a new request whether or not the job has run yet.

Through the real app (the REST API and the job runner) with the test clock, on SQLite and on
PostgreSQL (conftest's `database_url`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from jobs import maintenance
from jobs.runner import Jobs
from scheduler.models import IdempotentRequest, StaffUser
from scheduler.models.accounts import IDEMPOTENCY_KEY_LIFETIME
from tests.adapters.api.support import (
    NAME,
    OTHER_PHONE,
    PHONE,
    add_patient,
    api_settings,
    bearer,
    make_user,
)


@pytest.fixture
def app(tmp_path, database_url, clock):
    settings = replace(api_settings(tmp_path, database_url), jobs_in_process=False)
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    yield app
    app.extensions["clinic_scheduler"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def staff(services):
    return bearer(make_user(services, "frontdesk", "staff"))


@pytest.fixture
def jobs(services):
    return Jobs(services, in_process=False)


def add(client, staff, key, phone=PHONE, name=NAME):
    """POST /patients with an Idempotency-Key: 201 for a new patient, 200 for a known phone."""
    return client.post(
        "/api/v1/patients",
        json={"phone": phone, "name": name},
        headers={**staff, "Idempotency-Key": key},
    )


def stored(services) -> dict[str, tuple[int, object]]:
    """The idempotency records by key: (status, created_at)."""
    with services.sessions() as db:
        return {
            row.key: (row.status, row.created_at)
            for row in db.scalars(select(IdempotentRequest)).all()
        }


def test_the_lifetime_is_24_hours():
    assert timedelta(hours=24) == IDEMPOTENCY_KEY_LIFETIME


def test_the_maintenance_job_deletes_a_25_hour_old_record_and_keeps_a_23_hour_old_one(
    client, services, staff, jobs, clock
):
    assert add(client, staff, "old-key").status_code == 201
    clock.advance(hours=2)
    assert add(client, staff, "newer-key", phone=OTHER_PHONE).status_code == 201
    clock.advance(hours=23)  # old-key: 25 hours old; newer-key: 23 hours old
    jobs.maintain()
    assert set(stored(services)) == {"newer-key"}
    # ... and newer-key still answers the same.
    replay = add(client, staff, "newer-key", phone=OTHER_PHONE)
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (201, "true")


def test_the_purge_step_counts_what_it_deletes(services, staff, clock):
    """The step on its own, on records made by hand: more than 24 hours old goes, the rest
    stays (24 hours to the second is still remembered)."""
    with services.sessions.begin() as db:
        user = db.scalars(select(StaffUser).where(StaffUser.username == "frontdesk")).one()
        for key, age in (("25h", 25), ("24h", 24), ("23h", 23), ("fresh", 0)):
            db.add(
                IdempotentRequest(
                    user_id=user.id,
                    key=key,
                    fingerprint="0" * 64,
                    status=201,
                    body_enc=b"",
                    created_at=clock.now - timedelta(hours=age),
                )
            )
    with services.sessions.begin() as db:
        assert maintenance.purge_idempotent_requests(db, now=clock.now) == 1
    assert set(stored(services)) == {"24h", "23h", "fresh"}
    with services.sessions.begin() as db:  # nothing more to do
        assert maintenance.purge_idempotent_requests(db, now=clock.now) == 0


def test_a_repeat_after_25_hours_is_a_new_request_even_before_the_purge_ran(
    client, services, staff, clock
):
    first = add(client, staff, "patient-77")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    clock.advance(hours=23)
    within = add(client, staff, "patient-77")  # remembered: the first answer again
    assert within.status_code == 201 and within.headers["Idempotent-Replayed"] == "true"
    assert within.get_json() == first.get_json()

    clock.advance(hours=2)  # 25 hours after the first; no maintenance job has run
    assert "patient-77" in stored(services)
    after = add(client, staff, "patient-77")
    # Done again: the phone is a patient's now, so this time the answer is 200, not a replay.
    assert after.status_code == 200 and "Idempotent-Replayed" not in after.headers
    assert after.get_json()["id"] == first.get_json()["id"]
    # The key now holds the new request's answer, remembered from now.
    assert stored(services)["patient-77"] == (200, clock.now)
    again = add(client, staff, "patient-77")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")


def test_after_25_hours_the_key_may_carry_another_request(client, services, staff, clock):
    """Within 24 hours the same key with another body is refused; after, the key is free."""
    assert add(client, staff, "reused-key").status_code == 201
    clock.advance(hours=23)
    refused = add(client, staff, "reused-key", phone=OTHER_PHONE)
    assert refused.status_code == 422
    assert refused.get_json()["type"].endswith(":idempotency-key-reused")
    clock.advance(hours=2)
    other = add(client, staff, "reused-key", phone=OTHER_PHONE, name="Robin Examplename")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other.headers


def test_a_repeat_after_the_purge_is_a_new_request(client, services, staff, jobs, clock):
    patient_id = add_patient(services)  # already a patient: the first answer is a 200
    assert add(client, staff, "after-purge").get_json()["id"] == patient_id
    clock.advance(hours=25)
    jobs.maintain()
    assert stored(services) == {}
    after = add(client, staff, "after-purge")
    assert after.status_code == 200 and "Idempotent-Replayed" not in after.headers
    assert stored(services)["after-purge"] == (200, clock.now)
