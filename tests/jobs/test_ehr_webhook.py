"""The EHR notifications end to end: the real app with EHR_WEBHOOK_URL set, bookings through the
scheduling tools, the job runner's sender, and a fake EHR on 127.0.0.1 that fails (500), times
out, then recovers. Each change is delivered once, in order per appointment, signed; one that
fails for a day is shown to admins (Slack and portal) and sent again from there.

The clinic's now is Wednesday 2026-03-04 09:00 in New York (tests/conftest.py `now`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time as wall
from datetime import time, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from app import job_runner
from bot.settings import Settings, SettingsError
from bot.staff.admin import AdminDesk
from bot.tools import Caller, SchedulingTools
from jobs.ehr_webhook import (
    FAIL_AFTER,
    NOTIFICATION_ID,
    SIGNATURE,
    TIMESTAMP,
    EhrWebhook,
    backoff,
)
from scheduler.models import AuditEvent, EhrNotification
from tests.adapters.portal.conftest import (
    ADMIN_PASSWORD,
    MON,
    add_patient,
    add_user,
    book,
    make_app,
    post,
    sign_in,
)
from tests.adapters.portal.conftest import text as page
from tests.local_server import LocalServer

SECRET = "test-ehr-secret-0123456789"
SLOW = 1.0  # seconds the fake EHR takes when it "times out"; the sender waits TIMEOUT
TIMEOUT = 0.3
STAFF = Caller(role="staff", channel="slack", staff_id="U1")
ADMIN = Caller(role="admin", channel="slack", staff_id="UADMIN1")


class FakeEhr:
    """Answers each POST as its script says ("fail": 500, "slow": 500 after SLOW seconds, past
    the sender's time-out), then 200; keeps what it answered 200 to."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.accepted: list[tuple[dict[str, str], bytes]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self.server = LocalServer(self._answer)
        self.url = self.server.url + "/fhir/notify"

    def _answer(self, path, headers, body):
        with self._lock:
            self.requests += 1
            mode = self.script.pop(0) if self.script else "ok"
        if mode == "slow":
            wall.sleep(SLOW)
        if mode != "ok":
            return 500, b'{"resourceType":"OperationOutcome"}', {}
        with self._lock:
            self.accepted.append((dict(headers), body))
        return 200, b"", {}

    def bundles(self) -> list[dict]:
        return [json.loads(body) for _, body in self.accepted]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def ehr():
    fake = FakeEhr()
    yield fake
    fake.close()


@pytest.fixture
def app(tmp_path, database_url, clock, ehr):
    app = make_app(
        tmp_path, database_url, clock, ehr_webhook_url=ehr.url, ehr_webhook_secret=SECRET
    )
    yield app
    app.extensions["clinic_scheduler"].engine.dispose()


@pytest.fixture
def jobs(services):
    runner = job_runner(services, in_process=False)
    assert runner.ehr is not None  # EHR_WEBHOOK_URL is set
    runner.ehr.timeout = TIMEOUT
    return runner


def tools(services, db):
    return SchedulingTools(db, services.clinic, services.audit, STAFF, services.clock())


def reschedule(services, appointment_id, at, day=MON):
    with services.sessions.begin() as db:
        slot = tools(services, db).find_slots(
            "checkup", start_date=day, end_date=day, provider_key="okafor", around=at, limit=1
        )[0]
        tools(services, db).reschedule_appointment(appointment_id, slot)


def cancel(services, appointment_id):
    with services.sessions.begin() as db:
        tools(services, db).cancel_appointment(appointment_id)


def rows(services) -> list[EhrNotification]:
    with services.sessions() as db:
        return list(db.scalars(select(EhrNotification).order_by(EhrNotification.id)))


def changes_received(ehr) -> list[tuple[str, str, str]]:
    """(appointment id, status, event number) of each accepted notification, in arrival order."""
    found = []
    for bundle in ehr.bundles():
        status, appointment = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
        event = next(p for p in status["parameter"] if p["name"] == "notification-event")
        number = next(p["valueString"] for p in event["part"] if p["name"] == "event-number")
        found.append((appointment["id"], appointment["status"], number))
    return found


def test_each_change_is_delivered_once_in_order_through_failures_and_a_timeout(
    services, jobs, ehr, clock
):
    one = book(services, add_patient(services), time(10, 0))
    reschedule(services, one, time(11, 0))
    cancel(services, one)
    two = book(services, add_patient(services, "+12125550188", "Tomas Brightwater"), time(14, 0))
    queued = rows(services)
    assert [(r.appointment_id, r.event) for r in queued] == [
        (one, "booked"),
        (one, "rescheduled"),
        (one, "cancelled"),
        (two, "booked"),
    ]

    ehr.script = ["fail"]  # the EHR is down: 500
    jobs.send_ehr_notifications()
    assert ehr.accepted == [] and ehr.requests == 1
    first = rows(services)[0]
    assert first.status == "pending" and first.attempts == 1 and first.last_error == "http_500"
    assert first.next_attempt_at == clock.now + backoff(1)
    # The rest of the batch was not tried while the EHR fails, and not counted as tried.
    assert [r.attempts for r in rows(services)] == [1, 0, 0, 0]

    clock.advance(seconds=31)
    ehr.script = ["slow"]  # then it hangs past the sender's time-out
    jobs.send_ehr_notifications()
    assert ehr.accepted == []
    assert rows(services)[0].last_error == "timeout"
    assert rows(services)[0].next_attempt_at == clock.now + backoff(2)

    jobs.send_ehr_notifications()  # not due yet: nothing is sent
    assert ehr.requests == 2

    clock.advance(seconds=61)  # the EHR is back
    jobs.send_ehr_notifications()
    received = changes_received(ehr)
    assert sorted(number for _, _, number in received) == sorted(str(r.id) for r in queued)
    assert [status for appointment, status, _ in received if appointment == str(one)] == [
        "booked",
        "booked",
        "cancelled",
    ]
    assert [number for appointment, _, number in received if appointment == str(one)] == [
        str(queued[0].id),
        str(queued[1].id),
        str(queued[2].id),
    ]
    assert all(r.status == "delivered" and r.delivered_at for r in rows(services))

    jobs.send_ehr_notifications()  # nothing left: nothing sent twice
    assert len(ehr.accepted) == 4


def test_a_second_worker_takes_neither_a_claimed_row_nor_a_change_behind_it(services, jobs, ehr):
    one = book(services, add_patient(services), time(10, 0))
    reschedule(services, one, time(11, 0))
    two = book(services, add_patient(services, "+12125550188", "Tomas Brightwater"), time(14, 0))
    other = EhrWebhook(
        services.sessions,
        services.vault,
        services.audit,
        url=ehr.url,
        secret=SECRET,
        clock=services.clock,
        owner="worker-2",
    )
    now = services.clock()
    first = jobs.ehr.claim(now)
    assert [(r.appointment_id, r.event) for r in first] == [(one, "booked"), (two, "booked")]
    assert other.claim(now) == []  # one's move waits for its booking, claimed by the first
    assert other.claim(now + jobs.ehr.lease + timedelta(seconds=1))[0].id == first[0].id


def test_a_notification_is_a_signed_valid_fhir_history_bundle(services, jobs, ehr):
    appointment = book(services, add_patient(services), time(10, 0))
    jobs.send_ehr_notifications()
    [(headers, body)] = ehr.accepted
    assert headers["Content-Type"] == "application/fhir+json"
    expected = hmac.new(
        SECRET.encode(), headers[TIMESTAMP].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers[SIGNATURE] == f"sha256={expected}"
    assert not hmac.compare_digest(
        headers[SIGNATURE],
        "sha256=" + hmac.new(b"another-secret", body, hashlib.sha256).hexdigest(),
    )
    bundle = Bundle.model_validate(json.loads(body))
    assert bundle.type == "history"
    status, changed = (entry.resource for entry in bundle.entry)
    assert status.get_resource_type() == "Parameters"
    assert changed.get_resource_type() == "Appointment" and changed.id == str(appointment)
    assert headers[NOTIFICATION_ID] == str(rows(services)[0].id)


def test_a_rolled_back_booking_queues_nothing(services, jobs, ehr):
    patient = add_patient(services)
    with pytest.raises(RuntimeError):
        with services.sessions.begin() as db:
            slot = tools(services, db).find_slots(
                "checkup", start_date=MON, end_date=MON, provider_key="okafor", limit=1
            )[0]
            tools(services, db).book_appointment(slot, patient_id=patient)
            raise RuntimeError("the turn failed after booking")
    assert rows(services) == []


def test_attendance_marks_are_sent_too(services, jobs, ehr, clock):
    appointment = book(services, add_patient(services), time(10, 0))
    clock.advance(days=5, hours=1, minutes=15)  # Monday 10:15: the visit has started
    with services.sessions.begin() as db:
        tools(services, db).mark_attendance(appointment, "fulfilled")
    jobs.send_ehr_notifications()
    assert [status for _, status, _ in changes_received(ehr)] == ["booked", "fulfilled"]


def fail_for_a_day(services, jobs, ehr, clock) -> None:
    ehr.script = ["fail"] * 500
    jobs.send_ehr_notifications()
    waited = timedelta(0)
    while waited <= FAIL_AFTER:
        clock.advance(minutes=30)
        waited += timedelta(minutes=30)
        jobs.send_ehr_notifications()
    ehr.script = []


def test_one_failing_for_a_day_is_shown_to_admins_and_resent_from_slack(services, jobs, ehr, clock):
    one = book(services, add_patient(services), time(10, 0))
    reschedule(services, one, time(11, 0))
    fail_for_a_day(services, jobs, ehr, clock)
    head, behind = rows(services)
    assert head.status == "failed" and head.failed_at is not None
    assert behind.status == "pending" and behind.attempts == 0  # waits: never sent before it
    assert ehr.accepted == []
    with services.sessions() as db:
        failed = db.scalars(select(AuditEvent).where(AuditEvent.kind == "ehr_notification_failed"))
        assert [e.detail["notification"] for e in failed] == [head.id]

    desk = AdminDesk(
        sessions=services.sessions,
        clinic=services.clinic,
        vault=services.vault,
        audit=services.audit,
        clock=services.clock,
    )
    listing = desk.command(ADMIN, "ehr")
    assert listing.ok and "1 failed" in listing.text
    assert f"#{head.id} appointment #{one} booked" in listing.text
    assert "1 later change(s) held behind it" in listing.text
    assert not desk.command(ADMIN, "ehr resend x").ok
    refused = desk.command(ADMIN, f"ehr resend {behind.id}")  # not a failed one
    assert not refused.ok and rows(services)[1].status == "pending"

    assert desk.command(ADMIN, f"ehr resend {head.id}").ok
    jobs.send_ehr_notifications()
    assert [status for _, status, _ in changes_received(ehr)] == ["booked", "booked"]
    assert [r.status for r in rows(services)] == ["delivered", "delivered"]
    with services.sessions() as db:
        resent = db.scalars(select(AuditEvent).where(AuditEvent.kind == "ehr_notifications_resent"))
        assert [(e.actor, e.detail["notifications"]) for e in resent] == [
            ("admin:UADMIN1", [head.id])
        ]


def test_failed_ones_are_listed_in_the_portal_and_resent_from_there(
    app, services, jobs, ehr, clock
):
    one = book(services, add_patient(services), time(10, 0))
    fail_for_a_day(services, jobs, ehr, clock)
    add_user(services, "boss", "admin", ADMIN_PASSWORD)
    add_user(services, "clerk", "staff")
    admin = app.test_client()
    sign_in(admin, "boss", ADMIN_PASSWORD)
    listing = page(admin.get("/portal/admin/ehr"))
    assert f"appointment {one}" in listing and "http_500" in listing

    clerk = app.test_client()
    sign_in(clerk, "clerk")
    assert clerk.get("/portal/admin/ehr").status_code == 403
    assert post(clerk, "/portal/admin/ehr/resend").status_code == 403
    assert rows(services)[0].status == "failed"

    answer = post(admin, "/portal/admin/ehr/resend", token_from="/portal/admin/ehr")
    assert answer.status_code == 303
    assert "No failed EHR notifications" in page(admin.get("/portal/admin/ehr"))
    jobs.send_ehr_notifications()
    assert [r.status for r in rows(services)] == ["delivered"]
    assert len(ehr.accepted) == 1


def test_the_webhook_needs_a_secret_and_an_http_url():
    with pytest.raises(SettingsError, match="EHR_WEBHOOK_SECRET"):
        Settings.from_env({"EHR_WEBHOOK_URL": "https://ehr.example.org/hook"})
    with pytest.raises(SettingsError, match="EHR_WEBHOOK_URL must start with http"):
        Settings.from_env({"EHR_WEBHOOK_URL": "ftp://x", "EHR_WEBHOOK_SECRET": SECRET})
    settings = Settings.from_env(
        {"EHR_WEBHOOK_URL": "https://ehr.example.org/hook", "EHR_WEBHOOK_SECRET": SECRET}
    )
    assert settings.describe()["ehr_webhook_secret"] == "set"
