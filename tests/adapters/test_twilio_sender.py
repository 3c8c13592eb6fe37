"""TwilioSender: twilio's real REST client against Twilio's API faked at the HTTP boundary
(`responses` for api.twilio.com, a local server for TWILIO_API_BASE_URL): retries, opt-outs,
permanent errors, and the record of what was sent."""

from __future__ import annotations

import json
import logging
import time

import pytest
import requests
import responses
from sqlalchemy import select

from adapters.outbox import Outbox
from adapters.twilio_sender import TwilioSender, record_status
from app import create_app, services_of
from bot.audit.trail import AuditTrail
from bot.messages import DeliveryFailed, OutboundMessage, RecipientOptedOut
from scheduler.models import AuditEvent, SmsMessage
from scheduler.patients import find_or_create_patient, find_patient
from tests.twilio_support import (
    ACCOUNT_SID,
    FROM_NUMBER,
    NOW,
    PUBLIC_BASE_URL,
    FakeTwilio,
    new_sid,
    sms_settings,
)

PHONE = "+12125550123"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
REMINDER = OutboundMessage(
    "sms", PHONE, "Reminder: your check-up is tomorrow at 9:00 AM.", kind="reminder"
)


def created(sid=None, status="queued"):
    return {
        "sid": sid or new_sid(),
        "status": status,
        "account_sid": ACCOUNT_SID,
        "to": PHONE,
        "body": REMINDER.text,
    }


def error(code, status, message="refused"):
    return {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }


@pytest.fixture
def make_sender(tmp_path, sessions, vault):
    def make(**overrides):
        tuning = {k: overrides.pop(k) for k in ("max_attempts", "max_seconds") if k in overrides}
        settings = sms_settings(tmp_path, **overrides)
        return TwilioSender(
            settings,
            sessions,
            vault,
            AuditTrail(vault),
            lambda: NOW,
            backoff=0.001,
            backoff_max=0.005,
            **tuning,
        )

    return make


@pytest.fixture
def sender(make_sender):
    return make_sender()


@pytest.fixture
def patient_id(sessions, vault):
    with sessions.begin() as db:
        return find_or_create_patient(db, vault, PHONE, now=NOW).id


@pytest.fixture
def twilio():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def sent_form(call) -> dict:
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def opted_out(sessions, vault) -> bool:
    with sessions() as db:
        return find_patient(db, vault, PHONE).opted_out_at is not None


def audit_details(sessions, kind):
    with sessions() as db:
        return list(db.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_sends_from_the_clinic_number_with_a_status_callback(twilio, sender, sessions, patient_id):
    sid = new_sid()
    twilio.post(MESSAGES_URL, json=created(sid), status=201)
    assert sender.send(REMINDER) == sid
    form = sent_form(twilio.calls[0])
    assert form == {
        "To": PHONE,
        "From": FROM_NUMBER,
        "Body": REMINDER.text,
        "StatusCallback": PUBLIC_BASE_URL + "/twilio/status",
    }
    assert twilio.calls[0].request.headers["Authorization"].startswith("Basic ")
    with sessions() as db:
        row = db.scalars(select(SmsMessage)).one()
    assert (row.message_sid, row.patient_id, row.status, row.kind) == (
        sid,
        patient_id,
        "queued",
        "reminder",
    )
    [event] = audit_details(sessions, "sms_sent")
    assert event.message_id == sid and event.text_enc is None


def test_messaging_service_is_used_when_configured(twilio, make_sender):
    twilio.post(MESSAGES_URL, json=created(), status=201)
    make_sender(
        twilio_from_number=None, twilio_messaging_service_sid="MG" + "2" * 32, public_base_url=None
    ).send(REMINDER)
    form = sent_form(twilio.calls[0])
    assert form["MessagingServiceSid"] == "MG" + "2" * 32
    assert "From" not in form and "StatusCallback" not in form


def test_options_are_sent_as_numbered_lines(twilio, sender):
    twilio.post(MESSAGES_URL, json=created(), status=201)
    sender.send(OutboundMessage("sms", PHONE, "Pick one:", ("Mon 9:00 AM", "Tue 10:00 AM")))
    assert sent_form(twilio.calls[0])["Body"] == "Pick one:\n1. Mon 9:00 AM\n2. Tue 10:00 AM"


def test_429_is_retried_then_succeeds(twilio, sender):
    twilio.post(MESSAGES_URL, json=error(20429, 429, "Too Many Requests"), status=429)
    twilio.post(MESSAGES_URL, json=created(), status=201)
    assert sender.send(REMINDER).startswith("SM")
    assert len(twilio.calls) == 2


def test_server_errors_and_lost_connections_are_retried(twilio, sender):
    twilio.post(MESSAGES_URL, json=error(20500, 500), status=500)
    twilio.post(MESSAGES_URL, body=requests.exceptions.ConnectionError("reset"))
    twilio.post(MESSAGES_URL, json=error(20503, 503), status=503)
    twilio.post(MESSAGES_URL, json=created(), status=201)
    assert sender.send(REMINDER).startswith("SM")
    assert len(twilio.calls) == 4


def test_retries_stop_after_the_attempt_limit_and_say_it_may_work_later(
    twilio, make_sender, sessions
):
    for _ in range(10):
        twilio.post(MESSAGES_URL, json=error(20429, 429), status=429)
    with pytest.raises(DeliveryFailed) as failure:
        make_sender(max_attempts=3).send(REMINDER)
    assert failure.value.retryable and len(twilio.calls) == 3
    [event] = audit_details(sessions, "sms_failed")
    assert event.detail["status"] == 429 and event.detail["retryable"] is True


def test_retries_stop_after_the_time_limit(twilio, make_sender):
    for _ in range(1000):
        twilio.post(MESSAGES_URL, json=error(20500, 500), status=500)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed):
        make_sender(max_attempts=1000, max_seconds=0.2).send(REMINDER)
    assert time.monotonic() - started < 2


def test_read_timeout_is_not_retried_because_the_text_may_have_gone(twilio, sender):
    twilio.post(MESSAGES_URL, body=requests.exceptions.ReadTimeout("slow"))
    twilio.post(MESSAGES_URL, json=created(), status=201)
    with pytest.raises(DeliveryFailed) as failure:
        sender.send(REMINDER)
    assert not failure.value.retryable and len(twilio.calls) == 1


def test_21610_marks_the_patient_opted_out_and_is_not_retried(
    twilio, sender, sessions, vault, patient_id
):
    twilio.post(
        MESSAGES_URL,
        json=error(21610, 400, f"Attempt to send to unsubscribed recipient {PHONE}"),
        status=400,
    )
    with pytest.raises(RecipientOptedOut):
        sender.send(REMINDER)
    assert len(twilio.calls) == 1 and opted_out(sessions, vault)
    [event] = audit_details(sessions, "sms_failed")
    assert event.detail["code"] == 21610 and PHONE not in json.dumps(event.detail)
    # And the next text is never attempted.
    with pytest.raises(RecipientOptedOut):
        sender.send(REMINDER)
    assert len(twilio.calls) == 1


def test_21610_for_a_number_never_seen_still_records_the_opt_out(twilio, sender, sessions, vault):
    twilio.post(MESSAGES_URL, json=error(21610, 400), status=400)
    with pytest.raises(RecipientOptedOut):
        sender.send(REMINDER)
    assert opted_out(sessions, vault)


@pytest.mark.parametrize(
    "code, status", [(21211, 400), (21408, 400), (20003, 401), (21606, 400), (20404, 404)]
)
def test_permanent_errors_are_recorded_and_raised_not_retried(
    twilio, sender, sessions, vault, patient_id, code, status
):
    twilio.post(MESSAGES_URL, json=error(code, status), status=status)
    with pytest.raises(DeliveryFailed) as failure:
        sender.send(REMINDER)
    assert failure.value.code == code and not failure.value.retryable
    assert not isinstance(failure.value, RecipientOptedOut)
    assert len(twilio.calls) == 1 and not opted_out(sessions, vault)
    [event] = audit_details(sessions, "sms_failed")
    assert event.detail["code"] == code and event.patient_id == patient_id


def test_nothing_is_sent_to_an_opted_out_number(twilio, sender, sessions, vault, patient_id):
    with sessions.begin() as db:
        find_patient(db, vault, PHONE).opted_out_at = NOW
    with pytest.raises(RecipientOptedOut):
        sender.send(REMINDER)
    assert len(twilio.calls) == 0
    [event] = audit_details(sessions, "sms_suppressed")
    assert event.detail == {"kind": "reminder", "reason": "opted_out"}


def test_a_status_callback_quicker_than_the_send_record_keeps_its_status(
    twilio, sender, sessions, patient_id
):
    sid = new_sid()
    record_status(sessions, lambda: NOW, sid, "delivered", None)
    twilio.post(MESSAGES_URL, json=created(sid), status=201)
    sender.send(REMINDER)
    with sessions() as db:
        row = db.scalars(select(SmsMessage)).one()
    assert (row.status, row.patient_id) == ("delivered", patient_id)


def test_logs_name_codes_not_numbers_or_text(twilio, sender, caplog):
    twilio.post(
        MESSAGES_URL, json=error(21211, 400, f"The 'To' number {PHONE} is not valid"), status=400
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryFailed):
        sender.send(REMINDER)
    assert "21211" in caplog.text
    assert PHONE not in caplog.text and "check-up" not in caplog.text


def test_twilio_api_base_url_points_the_client_at_another_server(tmp_path, sessions, vault):
    fake = FakeTwilio()
    try:
        settings = sms_settings(tmp_path, twilio_api_base_url=fake.base_url + "/")
        sid = TwilioSender(settings, sessions, vault, AuditTrail(vault), lambda: NOW).send(REMINDER)
        [message] = fake.messages
        assert message["sid"] == sid and message["To"] == PHONE
        assert message["Body"] == REMINDER.text and message["From"] == FROM_NUMBER
    finally:
        fake.close()


def test_the_app_texts_through_twilio_only_when_it_is_configured(tmp_path):
    app = create_app({"SETTINGS": sms_settings(tmp_path), "TESTING": True})
    assert isinstance(services_of(app).sender, TwilioSender)
    unconfigured = sms_settings(tmp_path, twilio_from_number=None)
    assert isinstance(services_of(create_app({"SETTINGS": unconfigured})).sender, Outbox)
