"""Temporary AWS credentials for Bedrock, as on ECS, EC2 and with SSO: no keys in the settings,
boto3's own credential chain finds them, and every request is signed with their session token
(`X-Amz-Security-Token`), renewed as they near their expiry instead of read once at start.

The chain's source here is the ECS container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI,
the same provider ECS task roles and EKS pod identities use), served on 127.0.0.1; the Converse
endpoint is `FakeBedrock`. The app's own boto3 client does the rest, as against AWS.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import create_app, services_of
from bot.model.bedrock import RetryPolicy
from bot.settings import Settings, SettingsError
from tests.bedrock_support import MODEL, FakeBedrock, answer
from tests.e2e.conftest import NOW

PHONE = "+12125550123"
TASK_TOKEN = "ecs-agent-authorization-for-tests"


class CredentialsEndpoint:
    """The container credentials endpoint: each GET hands out new temporary keys that expire in
    five minutes (inside botocore's renewal window, so it asks again before each request)."""

    def __init__(self) -> None:
        self.issued: list[dict[str, str]] = []
        self.authorizations: list[str | None] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.authorizations.append(self.headers.get("Authorization"))
                n = len(endpoint.issued) + 1
                expires = datetime.now(UTC) + timedelta(minutes=5)
                keys = {
                    "AccessKeyId": f"ASIATESTING{n:04d}",
                    "SecretAccessKey": f"temporary-secret-{n}",
                    "Token": f"FwoGZXIvYXdzTEMPORARY{n:04d}",
                    "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                endpoint.issued.append(keys)
                payload = json.dumps(keys).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v2/credentials/task"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def no_aws_environment(monkeypatch, tmp_path):
    """Nothing of this machine's AWS setup reaches boto3: only what a test sets."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata probe
    return monkeypatch


@pytest.fixture
def task_role(no_aws_environment):
    endpoint = CredentialsEndpoint()
    no_aws_environment.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url)
    no_aws_environment.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", TASK_TOKEN)
    yield endpoint
    endpoint.close()


@pytest.fixture
def fake():
    server = FakeBedrock()
    yield server
    server.close()


@pytest.fixture
def keyless(settings, fake):
    """LLM_ENGINE=bedrock with a model and no keys in the settings."""
    return dataclasses.replace(
        settings,
        llm_engine="bedrock",
        bedrock_model_id=MODEL,
        bedrock_endpoint_url=fake.url,
        aws_region="us-east-1",
    )


def say(client, text):
    response = client.post("/chat/messages", json={"text": text, "message_id": str(uuid.uuid4())})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["replies"][0]["text"]


def test_a_task_roles_temporary_credentials_sign_every_request_and_are_renewed(
    keyless, fake, task_role
):
    app = create_app({"SETTINGS": keyless, "CLOCK": lambda: NOW, "TESTING": True})
    services_of(app).conversation.llm.retry = RetryPolicy(sleep=lambda _s: None)
    client = app.test_client()
    assert client.post("/chat/phone", json={"phone": PHONE}).status_code == 200
    fake.script(answer("Hello! How can I help?"), answer("We are open weekdays from 8 to 6."))

    assert say(client, "hello") == "Hello! How can I help?"
    assert "weekdays" in say(client, "when are you open?")

    issued = {keys["Token"]: keys["AccessKeyId"] for keys in task_role.issued}
    signed = [
        (request["headers"]["X-Amz-Security-Token"], request["headers"]["Authorization"])
        for request in fake.requests
    ]
    assert len(signed) == 2
    for token, authorization in signed:
        assert token in issued  # the endpoint's token, not one of the settings'
        assert f"Credential={issued[token]}/" in authorization
        assert "x-amz-security-token" in authorization  # signed, too
    assert signed[0][0] != signed[1][0]  # renewed near expiry, not read once at start
    assert set(task_role.authorizations) == {TASK_TOKEN}


def test_keys_in_the_settings_win_over_the_chain(keyless, fake, task_role):
    given = dataclasses.replace(
        keyless,
        aws_access_key_id="ASIAGIVENKEYS",
        aws_secret_access_key="given-secret",
        aws_session_token="FwoGZXIvYXdzGIVEN",
    )
    client = create_app({"SETTINGS": given, "CLOCK": lambda: NOW, "TESTING": True}).test_client()
    client.post("/chat/phone", json={"phone": PHONE})
    fake.script(answer("Hello! How can I help?"))
    say(client, "hello")
    [request] = fake.requests
    assert request["headers"]["X-Amz-Security-Token"] == "FwoGZXIvYXdzGIVEN"
    assert "Credential=ASIAGIVENKEYS/" in request["headers"]["Authorization"]
    assert task_role.issued == []


def test_no_credentials_anywhere_stops_the_start_naming_what_to_set(keyless, no_aws_environment):
    with pytest.raises(SettingsError, match=r"found no AWS credentials.*AWS_ACCESS_KEY_ID"):
        create_app({"SETTINGS": keyless, "CLOCK": lambda: NOW, "TESTING": True})


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"AWS_SESSION_TOKEN": "FwoGZXIvYXdzTOKEN"}, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY"),
        ({"AWS_SECRET_ACCESS_KEY": "s"}, "missing: AWS_ACCESS_KEY_ID"),
        ({}, "missing: BEDROCK_MODEL_ID"),
    ],
)
def test_half_given_keys_are_refused_at_start(env, missing):
    model = {} if not env else {"BEDROCK_MODEL_ID": MODEL}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env({"LLM_ENGINE": "bedrock", **model, **env})


def test_keyless_bedrock_settings_are_accepted_and_auto_still_wants_keys():
    settings = Settings.from_env({"LLM_ENGINE": "bedrock", "BEDROCK_MODEL_ID": MODEL})
    assert settings.uses_bedrock
    assert not Settings.from_env({"BEDROCK_MODEL_ID": MODEL}).uses_bedrock
