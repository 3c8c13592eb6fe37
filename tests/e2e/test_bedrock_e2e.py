"""The real app with LLM_ENGINE=bedrock against a fake Converse endpoint on 127.0.0.1.

BEDROCK_ENDPOINT_URL points the app's own boto3 client at `FakeBedrock`: requests are signed
(SigV4, fake credentials) and answers parsed by botocore exactly as with AWS. A patient talks
through the web chat's JSON API; /readyz says which engine is serving.
"""
from __future__ import annotations

import dataclasses
import json
import uuid
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app import create_app, services_of
from bot.llm import FAILING, RetryPolicy
from bot.settings import SettingsError
from scheduler.models import Appointment, AppointmentStatus
from tests.bedrock_support import MODEL, FakeBedrock, answer, failure, log_lines, tool_use

from tests.e2e.conftest import NOW

PHONE = "+12125550123"


@pytest.fixture
def fake():
    server = FakeBedrock()
    yield server
    server.close()


@pytest.fixture
def bedrock_settings(settings, fake):
    return dataclasses.replace(settings, llm_engine="bedrock", aws_access_key_id="AKIDTESTING",
                               aws_secret_access_key="secret-testing", bedrock_model_id=MODEL,
                               bedrock_endpoint_url=fake.url, aws_region="us-east-1")


@pytest.fixture
def app(bedrock_settings):
    app = create_app({"SETTINGS": bedrock_settings, "CLOCK": lambda: NOW, "TESTING": True})
    services_of(app).conversation.llm.retry = RetryPolicy(sleep=lambda _s: None)
    return app


def say(client, text):
    response = client.post("/chat/messages", json={"text": text, "message_id": str(uuid.uuid4())})
    assert response.status_code == 200, response.get_json()
    return "\n".join([r["text"] for r in response.get_json()["replies"]]
                     + [o for r in response.get_json()["replies"] for o in r["options"]])


@pytest.fixture
def chat(client):
    assert client.post("/chat/phone", json={"phone": PHONE}).status_code == 200
    return client


def engine_of(client):
    return client.get("/readyz").get_json()["checks"]["engine"]


def test_a_patient_books_through_bedrock_with_signed_requests(chat, fake, services, settings):
    assert engine_of(chat) == "bedrock"
    fake.script(tool_use(("find_slots", {"appointment_type": "checkup", "date": "2026-03-05"})),
                answer("Tomorrow I have 8:00, 8:15 or 8:30 AM. Which one?"))
    assert say(chat, "checkup tomorrow please") == (
        "Tomorrow I have 8:00, 8:15 or 8:30 AM. Which one?")
    fake.script(tool_use(("book_appointment", {"slot_id": "slot-3"})),
                answer("You're booked for Thu Mar 5 at 8:30 AM."))
    assert say(chat, "8:30") == "You're booked for Thu Mar 5 at 8:30 AM."
    assert fake.pending == 0

    first = fake.requests[0]
    assert unquote(first["path"]) == f"/model/{MODEL}/converse"
    assert first["headers"]["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDTESTING/20")
    assert "/us-east-1/bedrock/aws4_request" in first["headers"]["Authorization"]
    assert [t["toolSpec"]["name"] for t in first["body"]["toolConfig"]["tools"]][:2] == [
        "find_slots", "book_appointment"]
    assert "Maple Street Family Clinic" in first["body"]["system"][0]["text"]
    assert "5550123" not in json.dumps(fake.requests)
    with services.sessions() as db:
        [booked] = db.scalars(select(Appointment)).all()
    assert booked.status == AppointmentStatus.BOOKED
    perf = [line for line in log_lines(settings.log_dir, "performance")
            if line["event"] == "model_call"]
    assert len(perf) == 4 and all(line["input_tokens"] == 900 for line in perf)


def test_bedrock_down_falls_back_to_the_local_engine_and_readyz_says_so(chat, fake):
    fake.script(*[failure("ServiceUnavailableException")] * 3)
    reply = say(chat, "book a checkup tomorrow")
    assert "name" in reply.lower()            # the local dialogue answered the same message
    assert len(fake.requests) == 3            # tenacity's attempts; botocore retried nothing
    assert engine_of(chat) == FAILING
    say(chat, "skip")
    assert len(fake.requests) == 3            # cooling down: Bedrock is not called


def test_a_malformed_answer_gets_the_local_engines_reply(chat, fake, settings):
    fake.script(b"{this is not json", b'{"output": {}, "stopReason": "end_turn"}')
    assert "name" in say(chat, "book a checkup tomorrow").lower()
    assert "Thu Mar 5" in say(chat, "skip")
    assert engine_of(chat) == "bedrock"
    outcomes = [line.get("reason") or line.get("code") for line in
                log_lines(settings.log_dir, "orchestration")
                if line["event"] in ("model_call_failed", "bad_response")]
    # The first parses as an empty object (no output); the second fails botocore's parser.
    assert outcomes == ["malformed", "ResponseParserError", "malformed"]


def test_bedrock_without_credentials_refuses_to_start(settings):
    broken = dataclasses.replace(settings, llm_engine="bedrock", bedrock_model_id=MODEL)
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID"):
        create_app({"SETTINGS": broken, "CLOCK": lambda: NOW, "TESTING": True})


def test_local_never_calls_aws(bedrock_settings, fake):
    app = create_app({"SETTINGS": dataclasses.replace(bedrock_settings, llm_engine="local"),
                      "CLOCK": lambda: NOW, "TESTING": True})
    client = app.test_client()
    client.post("/chat/phone", json={"phone": PHONE})
    assert "name" in say(client, "book a checkup tomorrow").lower()
    assert engine_of(client) == "local" and fake.requests == []
