"""The Twilio webhooks: signatures, parsing, bad input, exactly-once, rate limit, status callbacks.

Every request is signed with twilio's own `RequestValidator.compute_signature`, against the real
Flask app on SQLite (and PostgreSQL where concurrency matters).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app, services_of
from bot.patient import consent
from scheduler.models import (
    Appointment,
    AuditEvent,
    ConversationSession,
    MessageReceipt,
    Patient,
    RefusalTally,
    SmsMessage,
)
from scheduler.patients import find_patient
from tests.twilio_support import (
    ACCOUNT_SID,
    NOW,
    PUBLIC_BASE_URL,
    TOKEN,
    Phone,
    new_sid,
    signature,
    signed_post,
    sms_settings,
    twiml_messages,
)

PHONE = "+12125550123"


@pytest.fixture
def make_app(tmp_path, clock):
    def make(**overrides):
        settings = sms_settings(tmp_path, **overrides)
        return create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def phone(client):
    return Phone(client, PHONE)


@pytest.fixture
def consented(phone):
    assert "Reply YES" in phone.text("hi")
    assert "signed up" in phone.text("YES")
    return phone


def count(services, model, *where):
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where))


def stored_rows(services):
    return {
        model.__tablename__: count(services, model)
        for model in (Patient, MessageReceipt, ConversationSession, Appointment)
    }


def audit_kinds(services):
    with services.sessions() as db:
        return [e.kind for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


# --- verify --------------------------------------------------------------------------------------


def test_signed_message_is_answered_with_twiml(phone, demo_clinic):
    response = phone.post("hello")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    [text] = twiml_messages(response.get_data())
    assert demo_clinic.name in text and "Reply YES" in text


def security_events(app, services, clock):
    """The `security` events the refusals counted so far become, once their minute is closed:
    each process's counts flushed, then the maintenance job run three minutes later."""
    from adapters.refusals import ledger_of
    from jobs.maintenance import close_refusal_tallies

    ledger_of(app).flush(everything=True)
    with services.sessions.begin() as db:
        close_refusal_tallies(db, services.audit, now=clock.now + timedelta(minutes=3))
    with services.sessions() as db:
        return db.scalars(select(AuditEvent).where(AuditEvent.kind == "security")).all()


def assert_refused_and_nothing_stored(response, app, services, clock, reason):
    assert response.status_code == 403
    assert stored_rows(services) == {
        "patients": 0,
        "message_receipts": 0,
        "conversation_sessions": 0,
        "appointments": 0,
    }
    assert audit_kinds(services) == []  # counted, not written one by one
    [event] = security_events(app, services, clock)
    assert event.text_enc is None and event.patient_id is None
    assert event.detail == {
        "source": "127.0.0.1",
        "minute": "2026-03-04T14:00:00+00:00",
        "refused": 1,
        "by": {f"sms:{reason}": 1},
    }
    assert PHONE not in json.dumps(event.detail)


def test_missing_signature_is_403_and_stores_only_a_counted_security_event(
    app, client, phone, services, clock
):
    response = client.post("/twilio/sms", data=phone.params("book a checkup"))
    assert_refused_and_nothing_stored(response, app, services, clock, "missing_signature")


def test_signature_made_with_another_token_is_403(app, client, phone, services, clock):
    params = phone.params("hello")
    response = client.post(
        "/twilio/sms",
        data=params,
        headers={
            "X-Twilio-Signature": signature(PUBLIC_BASE_URL + "/twilio/sms", params, "not-ours")
        },
    )
    assert_refused_and_nothing_stored(response, app, services, clock, "bad_signature")


@pytest.mark.parametrize("change", ["body", "from", "added", "removed"])
def test_replay_with_altered_parameters_is_403(app, client, phone, services, clock, change):
    params = phone.params("my appointments")
    header = {"X-Twilio-Signature": signature(PUBLIC_BASE_URL + "/twilio/sms", params)}
    if change == "body":
        params["Body"] = "cancel my appointment"
    elif change == "from":
        params["From"] = "+12125550199"
    elif change == "added":
        params["OptOutType"] = "STOP"
    else:
        del params["NumMedia"]
    response = client.post("/twilio/sms", data=params, headers=header)
    assert_refused_and_nothing_stored(response, app, services, clock, "bad_signature")


def test_signature_for_another_url_is_403(app, client, phone, services, clock):
    response = signed_post(client, "/twilio/sms", phone.params("hi"), base="http://localhost")
    assert_refused_and_nothing_stored(response, app, services, clock, "bad_signature")


def test_a_flood_of_forged_posts_writes_one_event_a_minute_and_is_cut_off_before_the_check(
    app, client, phone, services, clock
):
    forged = {"X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl"}
    statuses = [
        client.post("/twilio/sms", data=phone.params("hi"), headers=forged).status_code
        for _ in range(200)
    ]
    assert statuses == [403] * 30 + [429] * 170
    clock.advance(minutes=1)
    statuses = [
        client.post("/twilio/sms", data=phone.params("hi"), headers=forged).status_code
        for _ in range(40)
    ]
    assert statuses == [403] * 30 + [429] * 10
    assert audit_kinds(services) == []
    assert stored_rows(services)["message_receipts"] == 0
    # What the flood wrote: one row per minute, endpoint and reason, added by the flusher.
    from adapters.refusals import ledger_of

    assert ledger_of(app).flush() == 2  # the minute that has ended
    assert count(services, RefusalTally) == 2
    events = security_events(app, services, clock)
    assert [e.detail for e in events] == [
        {
            "source": "127.0.0.1",
            "minute": "2026-03-04T14:00:00+00:00",
            "refused": 200,
            "by": {"sms:bad_signature": 30, "any:rate_limited": 170},
        },
        {
            "source": "127.0.0.1",
            "minute": "2026-03-04T14:01:00+00:00",
            "refused": 40,
            "by": {"sms:bad_signature": 30, "any:rate_limited": 10},
        },
    ]
    with services.sessions() as db:
        assert services.audit.verify(db).ok
    # A real Twilio request from another address is answered as ever.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert "Reply YES" in Phone(elsewhere, PHONE).text("hi")


def test_behind_a_trusted_proxy_the_clients_address_is_counted(make_app, services, clock):
    app = make_app(trusted_proxy_hops=1)
    client = app.test_client()
    response = client.post(
        "/twilio/sms",
        data=Phone(client, PHONE).params("hi"),
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert response.status_code == 403
    [event] = security_events(app, services_of(app), clock)
    assert event.detail["source"] == "203.0.113.7"


def test_without_public_base_url_the_request_url_is_checked(make_app):
    app = make_app(public_base_url=None)
    phone = Phone(app.test_client(), PHONE, base="http://localhost")
    assert "Reply YES" in phone.text("hi")
    wrong = Phone(app.test_client(), PHONE, base=PUBLIC_BASE_URL)
    assert wrong.post("hi").status_code == 403


def test_query_string_is_part_of_the_signed_url(client, phone):
    params = phone.params("hi")
    url = PUBLIC_BASE_URL + "/twilio/sms?clinic=main"
    good = client.post(
        "/twilio/sms?clinic=main",
        data=params,
        headers={"X-Twilio-Signature": signature(url, params)},
    )
    assert good.status_code == 200
    params = phone.params("hi")
    bad = client.post(
        "/twilio/sms?clinic=other",
        data=params,
        headers={"X-Twilio-Signature": signature(url, params)},
    )
    assert bad.status_code == 403


def test_parameters_twilio_adds_without_notice_are_signed_like_the_rest(phone):
    assert "Reply YES" in phone.text(
        "hi",
        FromCountry="US",
        SmsSid=new_sid(),
        SomethingNew2031="x",
        MessagingServiceSid="MG" + "1" * 32,
    )


def test_without_an_auth_token_both_endpoints_say_why_with_503(make_app):
    app = make_app(twilio_auth_token=None)
    services = services_of(app)
    client = app.test_client()
    for path in ("/twilio/sms", "/twilio/status"):
        response = signed_post(client, path, Phone(client).params("hi"))
        assert response.status_code == 503
        assert "TWILIO_AUTH_TOKEN" in response.get_data(as_text=True)
    assert audit_kinds(services) == [] and stored_rows(services)["patients"] == 0


# --- parse ---------------------------------------------------------------------------------------


def test_wrong_content_type_is_415(client, phone, services):
    url = PUBLIC_BASE_URL + "/twilio/sms"
    response = client.post(
        "/twilio/sms", json=phone.params("hi"), headers={"X-Twilio-Signature": signature(url, {})}
    )
    assert response.status_code == 415
    assert stored_rows(services)["message_receipts"] == 0


def test_wrong_content_type_without_signature_is_still_403(client, phone, services):
    response = client.post("/twilio/sms", json=phone.params("hi"))
    assert response.status_code == 403


@pytest.mark.parametrize("missing", ["From", "Body", "MessageSid"])
def test_missing_from_body_or_sid_is_400_and_runs_nothing(client, phone, services, missing):
    params = phone.params("hi")
    del params[missing]
    response = signed_post(client, "/twilio/sms", params)
    assert response.status_code == 400
    assert missing in response.get_data(as_text=True)
    assert stored_rows(services)["message_receipts"] == 0 and audit_kinds(services) == []


@pytest.mark.parametrize("sid", ["", "SM123", "SM" + "g" * 32, "x" * 200, "SM" + "0" * 32 + "'"])
def test_malformed_message_sid_is_400(client, phone, sid):
    assert signed_post(client, "/twilio/sms", phone.params("hi", sid=sid)).status_code == 400


@pytest.mark.parametrize(
    "sender",
    [
        "",
        "banana",
        "12",
        "+1",
        "whatsapp:+12125550123",
        "+1 212 555 01" * 5,
        "00000",
        "+999999999999999999",
        "MapleClinic",
    ],
)
def test_invalid_phone_formats_are_400(client, services, sender):
    response = Phone(client, sender).post("hi")
    assert response.status_code == 400
    assert "phone number" in response.get_data(as_text=True)
    assert stored_rows(services)["patients"] == 0


# Numbers the regulators set aside for fiction (Ofcom: 020 7946 0xxx and 07700 900xxx;
# ACMA: 0491 570 xxx), so no real person's number is in the tests.
@pytest.mark.parametrize("sender", ["+442079460123", "+447700900123", "+61491570156"])
def test_numbers_from_other_countries_are_patients_in_e164(client, services, sender):
    assert "Reply YES" in Phone(client, sender).text("hello")
    with services.sessions() as db:
        assert find_patient(db, services.vault, sender) is not None


@pytest.mark.parametrize(
    "body",
    [
        "x" * 1600,
        "book 📅🦷 tomorrow 😀😀",
        "أريد حجز موعد غدا",
        "אני רוצה לקבוע תור",
        "\u202etxet desrever\u202c",
        "\x00\x07\x1b",
        "   ",
        "<Response><Message>injected</Message></Response>",
    ],
)
def test_odd_bodies_get_a_polite_reply(consented, body):
    response = consented.post(body)
    assert response.status_code == 200
    [text] = twiml_messages(response.get_data())
    assert text and "injected" not in text


def test_reply_text_is_escaped_in_the_twiml(consented, services):
    # A name with XML in it comes back as text, not markup.
    consented.text("book a checkup tomorrow")
    body = consented.post("Jo <b>&amp;</b>").get_data(as_text=True)
    assert "<b>" not in body


def test_a_picture_alone_gets_i_can_only_read_text(consented):
    text = consented.text(
        "", NumMedia="1", MediaUrl0="https://api.twilio.com/x.jpg", MediaContentType0="image/jpeg"
    )
    assert "only read text" in text


def test_silence_is_an_empty_response_element(consented):
    consented.text("STOP")
    response = consented.post("hello")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert twiml_messages(response.get_data()) == []
    assert b"<Response" in response.get_data()


def test_twilio_opt_out_type_is_passed_to_the_engine(consented, services):
    consented.text("ARRET", OptOutType="STOP")
    with services.sessions() as db:
        assert find_patient(db, services.vault, PHONE).opted_out_at == NOW


# --- exactly once --------------------------------------------------------------------------------


def test_receipt_key_holds_no_phone_number_and_the_stored_reply_is_encrypted(phone, services):
    sid = new_sid()
    phone.text("book a checkup", sid=sid)
    with services.sessions() as db:
        receipt = db.scalars(select(MessageReceipt)).one()
    assert receipt.external_id.endswith(":" + sid) and PHONE[1:] not in receipt.external_id
    assert receipt.reply_via == "twiml" and b"Reply YES" not in bytes(receipt.reply_enc)
    assert receipt.sender_index == services.vault.index(PHONE)


@pytest.fixture
def offered(tmp_path, clock, database_url):
    """A consented patient who was just offered times, on SQLite or PostgreSQL."""
    app = create_app(
        {
            "SETTINGS": sms_settings(tmp_path, database_url=database_url),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    phone = Phone(app.test_client(), PHONE)
    phone.text("book a checkup tomorrow")
    phone.text("YES")
    assert "1." in phone.text("Jordan Testperson")
    return app, phone


def test_same_message_sid_twenty_times_at_once_runs_the_engine_once(offered):
    app, phone = offered
    services = services_of(app)
    sid = new_sid()
    barrier = threading.Barrier(20)

    def deliver(_):
        retry = Phone(app.test_client(), PHONE)
        barrier.wait()
        response = retry.post("1", sid=sid)
        return response.status_code, response.get_data(as_text=True)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(deliver, range(20)))
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1
    assert "booked" in answers[0][1]
    assert count(services, Appointment) == 1
    assert (
        count(services, AuditEvent, AuditEvent.kind == "message_in", AuditEvent.message_id == sid)
        == 1
    )
    # And later retries still get the same answer without another turn.
    assert phone.post("1", sid=sid).get_data(as_text=True) == answers[0][1]
    assert (
        count(services, AuditEvent, AuditEvent.kind == "message_in", AuditEvent.message_id == sid)
        == 1
    )


def test_an_engine_failure_is_a_polite_reply_not_a_500(consented, monkeypatch):
    from bot.patient import dialogue

    def broken(turn, state):
        raise RuntimeError("boom")

    monkeypatch.setattr(dialogue, "respond", broken)
    text = consented.text("book a checkup tomorrow")
    assert "something went wrong on our side" in text


# --- rate limit ----------------------------------------------------------------------------------


def test_twenty_texts_per_ten_minutes_then_one_notice_then_silence(tmp_path, clock, database_url):
    app = create_app(
        {
            "SETTINGS": sms_settings(tmp_path, database_url=database_url),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    phone = Phone(app.test_client(), PHONE)
    answers = []
    for i in range(consent.RATE_LIMIT):
        clock.now = NOW + timedelta(seconds=i)
        answers.append(phone.text("hi"))
    assert all(answers)
    repeated = new_sid()
    notice = phone.text("hi", sid=repeated)
    assert "pause" in notice and "(212) 555-0100" in notice
    assert phone.text("hi", sid=repeated) == notice  # a retry is not a new message
    assert phone.text("YES") == "" and phone.text("HELP") == ""
    assert phone.text("STOP") != ""  # STOP is always honoured
    assert phone.text("START") == ""
    clock.now = NOW + timedelta(minutes=10, seconds=30)
    assert "subscribed" in phone.text("START")
    other = Phone(app.test_client(), "+12125550188")
    assert "Reply YES" in other.text("hi")  # counted per number


# --- status callbacks ----------------------------------------------------------------------------


def status(client, sid, message_status, **extra):
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT_SID,
        "MessageStatus": message_status,
        "SmsStatus": message_status,
        "To": PHONE,
        "From": "+12125550100",
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return signed_post(client, "/twilio/status", params)


def sms_row(services, sid):
    with services.sessions() as db:
        return db.scalars(select(SmsMessage).where(SmsMessage.message_sid == sid)).one()


def test_status_callbacks_out_of_order_never_move_backwards(client, services):
    sid = new_sid()
    for value in ("sent", "queued", "delivered", "sending", "sent", "undelivered", "delivered"):
        assert status(client, sid, value).status_code == 204
    assert sms_row(services, sid).status == "delivered"


def test_failure_status_keeps_its_error_code(client, services):
    sid = new_sid()
    status(client, sid, "queued")
    status(client, sid, "undelivered", ErrorCode="30003")
    status(client, sid, "sent")
    row = sms_row(services, sid)
    assert (row.status, row.error_code) == ("undelivered", 30003)


def test_a_late_delivery_failure_is_audited_once_for_staff(client, services, consented):
    sid = new_sid()
    with services.sessions.begin() as db:
        patient = find_patient(db, services.vault, PHONE)
        db.add(
            SmsMessage(
                message_sid=sid,
                patient_id=patient.id,
                kind="reminder",
                status="sent",
                status_rank=3,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    status(client, sid, "undelivered", ErrorCode="30003")
    status(client, sid, "failed", ErrorCode="30003")  # a repeat report: no second event
    with services.sessions() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.kind == "sms_failed")).all()
    assert len(events) == 1
    assert events[0].patient_id == patient.id
    assert events[0].detail == {
        "kind": "reminder",
        "status": "undelivered",
        "code": 30003,
        "error": "carrier_report",
        "retryable": False,
    }


def test_unknown_status_is_accepted_and_changes_nothing(client, services):
    sid = new_sid()
    status(client, sid, "sent")
    assert status(client, sid, "partially_delivered").status_code == 204
    assert sms_row(services, sid).status == "sent"


def test_status_callback_with_21610_opts_the_patient_out(client, services, consented):
    sid = new_sid()
    with services.sessions.begin() as db:
        patient = find_patient(db, services.vault, PHONE)
        db.add(
            SmsMessage(
                message_sid=sid,
                patient_id=patient.id,
                status="queued",
                status_rank=1,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    status(client, sid, "failed", ErrorCode="21610")
    with services.sessions() as db:
        assert find_patient(db, services.vault, PHONE).opted_out_at is not None


def test_unsigned_or_malformed_status_callbacks_are_refused(app, client, services, clock):
    sid = new_sid()
    unsigned = client.post("/twilio/status", data={"MessageSid": sid, "MessageStatus": "sent"})
    assert unsigned.status_code == 403
    assert signed_post(client, "/twilio/status", {"MessageStatus": "sent"}).status_code == 400
    assert signed_post(client, "/twilio/status", {"MessageSid": sid}).status_code == 400
    assert count(services, SmsMessage) == 0 and audit_kinds(services) == []
    [event] = security_events(app, services, clock)
    assert event.detail["by"] == {"status:missing_signature": 1}


# --- privacy -------------------------------------------------------------------------------------


def test_log_files_carry_no_phone_number_or_message_text(consented, app, tmp_path):
    consented.text("book a checkup tomorrow")
    consented.text("Zebulon Quartermaine")
    consented.text("1")
    consented.post("hi", sid="SM" + "f" * 32)
    client = app.test_client()
    client.post("/twilio/sms", data=consented.params("unsigned secret words"))
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert "sms_webhook" in logs and "message_in" in logs
    for secret in (PHONE, PHONE[2:], "Zebulon", "checkup", "unsigned secret", TOKEN):
        assert secret not in logs


# --- operator commands: erase and key rotation see SMS records ----------------------------------


def test_patient_erase_deletes_their_sms_receipts_and_delivery_statuses(app, consented, services):
    other = Phone(app.test_client(), "+12125550188")
    other.text("hi")
    with services.sessions.begin() as db:
        patient = find_patient(db, services.vault, PHONE)
        db.add(
            SmsMessage(
                message_sid=new_sid(),
                patient_id=patient.id,
                status="delivered",
                status_rank=5,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    result = app.test_cli_runner().invoke(args=["patient", "erase", PHONE, "--yes"])
    assert result.exit_code == 0, result.output
    assert count(services, SmsMessage) == 0
    index = services.vault.index("+12125550188")
    with services.sessions() as db:
        assert db.scalars(select(MessageReceipt.sender_index)).all() == [index]


def test_key_rotation_keeps_sms_retries_answered_and_the_rate_count(tmp_path, clock):
    from cryptography.fernet import Fernet

    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = sms_settings(tmp_path, encryption_keys=(old_key,))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    phone = Phone(app.test_client(), PHONE)
    sid = new_sid()
    first = phone.text("hi", sid=sid)

    both = create_app(
        {
            "SETTINGS": sms_settings(tmp_path, encryption_keys=(new_key, old_key)),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    result = both.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "1 SMS receipts moved" in result.output

    after = create_app(
        {
            "SETTINGS": sms_settings(tmp_path, encryption_keys=(new_key,)),
            "CLOCK": clock,
            "TESTING": True,
        }
    )
    services = services_of(after)
    assert Phone(after.test_client(), PHONE).text("hi", sid=sid) == first
    assert count(services, AuditEvent, AuditEvent.kind == "message_in") == 1
    with services.sessions() as db:
        assert (
            consent.SmsPolicy(
                services.clinic, services.vault, services.conversation.store
            ).recent_messages(db, PHONE, NOW)
            == 1
        )


def test_a_huge_or_odd_error_code_is_ignored_not_a_500(client, services):
    sid = new_sid()
    assert status(client, sid, "failed", ErrorCode="9" * 40).status_code == 204
    assert status(client, sid, "failed", ErrorCode="abc").status_code == 204
    assert sms_row(services, sid).error_code is None
