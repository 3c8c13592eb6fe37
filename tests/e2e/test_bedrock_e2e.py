"""The real app with LLM_ENGINE=bedrock against a fake Converse endpoint on 127.0.0.1.

BEDROCK_ENDPOINT_URL points the app's own boto3 client at `FakeBedrock`: requests are signed
(SigV4, fake credentials) and answers parsed by botocore exactly as with AWS. A patient talks
through the web chat's JSON API; /readyz says which engine is serving.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from adapters.twilio_sms.stranded import send_stranded_replies
from app import create_app, services_of
from bot.messages import InboundMessage
from bot.model.bedrock import FAILING, RetryPolicy
from bot.settings import SettingsError
from scheduler.models import Appointment, AppointmentStatus, AuditEvent
from tests.bedrock_support import MODEL, FakeBedrock, answer, failure, log_lines, tool_use
from tests.clock import Clock
from tests.e2e.conftest import NOW
from tests.twilio_support import FakeTwilio, Phone, new_sid, sms_settings

PHONE = "+12125550123"


@pytest.fixture
def fake():
    server = FakeBedrock()
    yield server
    server.close()


@pytest.fixture
def bedrock_settings(settings, fake):
    return dataclasses.replace(
        settings,
        llm_engine="bedrock",
        aws_access_key_id="AKIDTESTING",
        aws_secret_access_key="secret-testing",
        bedrock_model_id=MODEL,
        bedrock_endpoint_url=fake.url,
        aws_region="us-east-1",
    )


@pytest.fixture
def app(bedrock_settings):
    app = create_app({"SETTINGS": bedrock_settings, "CLOCK": lambda: NOW, "TESTING": True})
    services_of(app).conversation.llm.retry = RetryPolicy(sleep=lambda _s: None)
    return app


def say(client, text):
    response = client.post("/chat/messages", json={"text": text, "message_id": str(uuid.uuid4())})
    assert response.status_code == 200, response.get_json()
    return "\n".join(
        [r["text"] for r in response.get_json()["replies"]]
        + [o for r in response.get_json()["replies"] for o in r["options"]]
    )


@pytest.fixture
def chat(client):
    assert client.post("/chat/phone", json={"phone": PHONE}).status_code == 200
    return client


def engine_of(client):
    return client.get("/readyz").get_json()["checks"]["engine"]


def test_a_patient_books_through_bedrock_with_signed_requests(chat, fake, services, settings):
    assert engine_of(chat) == "bedrock"
    fake.script(
        tool_use(("find_slots", {"appointment_type": "checkup", "date": "2026-03-05"})),
        answer("Tomorrow I have 8:00, 8:15 or 8:30 AM. Which one?"),
    )
    assert say(chat, "checkup tomorrow please") == (
        "Tomorrow I have 8:00, 8:15 or 8:30 AM. Which one?"
    )
    fake.script(
        tool_use(("book_appointment", {"slot_id": "slot-3"})),
        answer("You're booked for Thu Mar 5 at 8:30 AM."),
    )
    assert say(chat, "8:30") == "You're booked for Thu Mar 5 at 8:30 AM."
    assert fake.pending == 0

    first = fake.requests[0]
    assert unquote(first["path"]) == f"/model/{MODEL}/converse"
    assert first["headers"]["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDTESTING/20"
    )
    assert "/us-east-1/bedrock/aws4_request" in first["headers"]["Authorization"]
    assert "X-Amz-Security-Token" not in first["headers"]  # long-term keys: no token
    assert [t["toolSpec"]["name"] for t in first["body"]["toolConfig"]["tools"]][:2] == [
        "find_slots",
        "book_appointment",
    ]
    assert "Maple Street Family Clinic" in first["body"]["system"][0]["text"]
    assert "5550123" not in json.dumps(fake.requests)
    with services.sessions() as db:
        [booked] = db.scalars(select(Appointment)).all()
    assert booked.status == AppointmentStatus.BOOKED
    perf = [
        line for line in log_lines(settings.log_dir, "performance") if line["event"] == "model_call"
    ]
    assert len(perf) == 4 and all(line["input_tokens"] == 900 for line in perf)


def test_bedrock_down_falls_back_to_the_local_engine_and_readyz_says_so(chat, fake):
    fake.script(*[failure("ServiceUnavailableException")] * 3)
    reply = say(chat, "book a checkup tomorrow")
    assert "name" in reply.lower()  # the local dialogue answered the same message
    assert len(fake.requests) == 3  # tenacity's attempts; botocore retried nothing
    assert engine_of(chat) == FAILING
    say(chat, "skip")
    assert len(fake.requests) == 3  # cooling down: Bedrock is not called


def test_a_malformed_answer_gets_the_local_engines_reply(chat, fake, settings):
    fake.script(b"{this is not json", b'{"output": {}, "stopReason": "end_turn"}')
    assert "name" in say(chat, "book a checkup tomorrow").lower()
    assert "Thu Mar 5" in say(chat, "skip")
    assert engine_of(chat) == "bedrock"
    outcomes = [
        line.get("reason") or line.get("code")
        for line in log_lines(settings.log_dir, "orchestration")
        if line["event"] in ("model_call_failed", "bad_response")
    ]
    # The first parses as an empty object (no output); the second fails botocore's parser.
    assert outcomes == ["malformed", "ResponseParserError", "malformed"]


def test_bedrock_without_credentials_refuses_to_start(settings):
    broken = dataclasses.replace(settings, llm_engine="bedrock", bedrock_model_id=MODEL)
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        create_app({"SETTINGS": broken, "CLOCK": lambda: NOW, "TESTING": True})


def test_local_never_calls_aws(bedrock_settings, fake):
    app = create_app(
        {
            "SETTINGS": dataclasses.replace(bedrock_settings, llm_engine="local"),
            "CLOCK": lambda: NOW,
            "TESTING": True,
        }
    )
    client = app.test_client()
    client.post("/chat/phone", json={"phone": PHONE})
    assert "name" in say(client, "book a checkup tomorrow").lower()
    assert engine_of(client) == "local" and fake.requests == []


def test_temporary_credentials_sign_with_their_session_token(bedrock_settings, fake):
    settings = dataclasses.replace(bedrock_settings, aws_session_token="FwoGZXIvYXdzTESTTOKEN")
    client = create_app({"SETTINGS": settings, "CLOCK": lambda: NOW, "TESTING": True}).test_client()
    client.post("/chat/phone", json={"phone": PHONE})
    fake.script(answer("Hello! How can I help?"))
    assert say(client, "hello") == "Hello! How can I help?"
    [request] = fake.requests
    assert request["headers"]["X-Amz-Security-Token"] == "FwoGZXIvYXdzTESTTOKEN"
    assert "x-amz-security-token" in request["headers"]["Authorization"]  # signed, too


# --- a model turn holds no transaction while the model answers (SQLite) -----------------------


def turn(services, phone, text, channel="web"):
    """One patient's turn through the app's engine."""
    services.conversation.handle(InboundMessage(channel, phone, text, uuid.uuid4().hex, NOW))


def test_four_patients_model_turns_overlap_on_sqlite(services, fake):
    fake.script(*[answer("Hello! How can I help?")] * 4)
    # Each model call is held until all four are in flight: possible only if no turn holds a
    # transaction (SQLite's write lock) while its model answers.
    fake.gate = threading.Barrier(4)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: turn(services, f"+1212555015{n}", "hello"), range(4)))
    assert fake.pending == 0 and len(fake.requests) == 4
    assert fake.most_in_flight == 4


def test_another_patients_write_is_not_blocked_while_the_model_answers(services, fake):
    fake.script(answer("Hello! How can I help?"))
    fake.hold = threading.Event()  # the first patient's model answers when told to
    first = threading.Thread(target=turn, args=(services, "+12125550141", "hello"))
    first.start()
    while not fake.requests:  # the first patient's model call is under way
        time.sleep(0.01)
    # Another patient texts HELP: a turn that writes (patient, audit) without the model.
    turn(services, "+12125550142", "HELP", channel="sms")
    still_held = first.is_alive()
    fake.hold.set()
    first.join()
    assert still_held  # HELP was answered while the model still held
    with services.sessions() as db:
        kinds = db.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
    assert kinds == ["message_in", "message_in", "message_out", "message_out"]


def test_two_texts_from_one_patient_at_once_are_answered_one_after_the_other(services, fake):
    fake.delay = 0.3
    fake.script(answer("Hello! How can I help?"), answer("Sure, which day?"))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(turn, services, PHONE, "hi")
        while not fake.requests:  # the first text's model call is under way
            time.sleep(0.01)
        second = pool.submit(turn, services, PHONE, "I need a checkup")
        first.result(), second.result()
    # The second text's model call saw the first exchange, and the memory kept both.
    later = fake.requests[1]["body"]["messages"]
    assert [m["content"][0]["text"] for m in later] == [
        "hi",
        "Hello! How can I help?",
        "I need a checkup",
    ]
    with services.sessions() as db:
        state = services.conversation.store.load(db, "web", PHONE, now=NOW)
    assert [exchange[0] for exchange in state["llm"]["recent"]] == ["hi", "I need a checkup"]


# --- SMS: the receipt of a model turn ------------------------------------------------------------


@pytest.fixture
def sms(tmp_path, fake):
    """The app over Twilio's webhook with Bedrock, on a clock the test moves."""
    twilio = FakeTwilio()
    clock = Clock(NOW)
    settings = sms_settings(
        tmp_path,
        twilio_api_base_url=twilio.base_url,
        llm_engine="bedrock",
        aws_access_key_id="AKIDTESTING",
        aws_secret_access_key="secret",
        bedrock_model_id=MODEL,
        bedrock_endpoint_url=fake.url,
    )
    app = create_app(
        {"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "TWILIO_REPLY_BUDGET_SECONDS": 5.0}
    )
    services_of(app).conversation.llm.retry = RetryPolicy(sleep=lambda _s: None)
    phone = Phone(app.test_client(), PHONE)
    fake.script(answer("Hello! How can I help?"))
    phone.text("hi")  # the consent request
    assert phone.text("YES").endswith("Hello! How can I help?")  # "hi", carried on
    yield SimpleNamespace(phone=phone, clock=clock, services=services_of(app), twilio=twilio)
    twilio.close()


def audited(services, kind):
    with services.sessions() as db:
        return db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == kind)
        )


def test_a_repeat_of_a_text_whose_process_died_during_the_model_call(sms, fake):
    """The first delivery's process dies while the model answers: its claim is committed and
    never answered. A repeat soon after gets an empty answer (the turn may still be running
    elsewhere) and runs nothing; a repeat after UNANSWERED_AFTER runs the turn."""

    def process_dies(**_kwargs):
        raise SystemExit("killed")

    events = sms.services.conversation.llm.client.meta.events
    events.register("before-send.bedrock-runtime.Converse", process_dies, unique_id="process-dies")
    sid = new_sid()
    with pytest.raises(SystemExit):
        sms.phone.post("checkup tomorrow please", sid=sid)
    events.unregister("before-send.bedrock-runtime.Converse", unique_id="process-dies")
    assert audited(sms.services, "message_in") == 3  # hi, YES, and this one's phase 1

    assert sms.phone.text("checkup tomorrow please", sid=sid) == ""
    assert audited(sms.services, "message_in") == 3 and fake.pending == 0

    sms.clock.advance(minutes=6)
    fake.script(answer("Which time tomorrow suits you?"))
    assert sms.phone.text("checkup tomorrow please", sid=sid) == "Which time tomorrow suits you?"
    assert sms.phone.text("checkup tomorrow please", sid=sid) == "Which time tomorrow suits you?"
    assert audited(sms.services, "message_in") == 4 and fake.pending == 0


def test_a_text_left_unanswered_by_a_dead_process_gets_an_apology_once(sms, fake):
    """Twilio does not retry a text whose webhook it gave up on: the stranded-sms job tells the
    patient, five minutes on, to send it again, once."""

    def process_dies(**_kwargs):
        raise SystemExit("killed")

    events = sms.services.conversation.llm.client.meta.events
    events.register("before-send.bedrock-runtime.Converse", process_dies, unique_id="process-dies")
    with pytest.raises(SystemExit):
        sms.phone.post("checkup tomorrow please")
    events.unregister("before-send.bedrock-runtime.Converse", unique_id="process-dies")

    sms.clock.advance(minutes=4)
    assert send_stranded_replies(sms.services)["sent"] == 0  # the turn may still be running
    sms.clock.advance(minutes=2)
    assert send_stranded_replies(sms.services) == {"sent": 1, "failed": 0, "unknown": 0}
    [message] = sms.twilio.wait_for(1)
    assert message["To"] == PHONE and "Please send it again" in message["Body"]
    assert send_stranded_replies(sms.services)["sent"] == 0
    time.sleep(0.2)
    assert len(sms.twilio.messages) == 1 and fake.pending == 0
