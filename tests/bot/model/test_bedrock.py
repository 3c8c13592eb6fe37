"""bot/model/ piece by piece: engine selection, the client, retries and their log lines
(client.py, pipeline.py), what is redacted before the model reads it and what the system prompt
says (memory.py), and what is checked before a patient reads the model (checks.py). The tools'
declarations are tests/bot/model/test_tool_specs.py. No call leaves the machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from bot.model.bedrock import BedrockEngine, engine_from_settings
from bot.model.checks import check_reply, claims
from bot.model.client import (
    DEFAULT_REGION,
    ModelCallFailed,
    RetryPolicy,
    estimate_tokens,
    is_transient,
    make_client,
    orchestrated_llm_call,
)
from bot.model.memory import redact, system_prompt
from bot.model.pipeline import Pipeline
from bot.settings import Settings, SettingsError
from tests.bedrock_support import MODEL, answer, failure, log_lines

NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
AWS = {
    "AWS_ACCESS_KEY_ID": "AKIDTESTING",
    "AWS_SECRET_ACCESS_KEY": "secret-testing",
    "BEDROCK_MODEL_ID": MODEL,
}
REQUEST = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def no_wait(waits=None):
    return RetryPolicy(sleep=(waits.append if waits is not None else lambda _s: None))


# --- choosing the engine ------------------------------------------------------------------------


def test_bedrock_without_credentials_stops_the_start_naming_what_is_missing():
    with pytest.raises(SettingsError, match="missing: AWS_SECRET_ACCESS_KEY, BEDROCK_MODEL_ID"):
        Settings.from_env({"LLM_ENGINE": "bedrock", "AWS_ACCESS_KEY_ID": "AKIDTESTING"})


def test_auto_uses_bedrock_only_with_credentials_and_a_model():
    assert Settings.from_env({**AWS}).uses_bedrock
    assert not Settings.from_env(
        {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    ).uses_bedrock
    assert not Settings.from_env({**AWS, "LLM_ENGINE": "local"}).uses_bedrock


def test_a_session_token_is_read_from_the_environment_and_never_shown():
    settings = Settings.from_env({**AWS, "AWS_SESSION_TOKEN": "FwoGZXIvYXdzTESTTOKEN"})
    assert settings.aws_session_token == "FwoGZXIvYXdzTESTTOKEN" and settings.uses_bedrock
    assert "FwoG" not in repr(settings) and settings.describe()["aws_session_token"] == "set"


def test_local_never_builds_a_client(demo_clinic):
    assert (
        engine_from_settings(Settings.from_env({**AWS, "LLM_ENGINE": "local"}), demo_clinic) is None
    )


def test_the_client_has_explicit_timeouts_and_no_retries_of_its_own(demo_clinic):
    settings = Settings.from_env({**AWS, "BEDROCK_ENDPOINT_URL": "http://127.0.0.1:9"})
    client = make_client(settings)
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (3, 20)
    assert config.retries["total_max_attempts"] == 1
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == DEFAULT_REGION
    engine = engine_from_settings(
        Settings.from_env({**AWS, "AWS_REGION": "eu-west-1"}), demo_clinic
    )
    assert isinstance(engine, BedrockEngine) and engine.model_id == MODEL
    assert engine.client.meta.region_name == "eu-west-1"
    assert engine.client.meta.endpoint_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"


# --- orchestrated_llm_call -----------------------------------------------------------------------


def test_a_call_logs_its_attempt_latency_and_tokens(model, logs):
    model.script(answer("Hello!", tokens=(321, 12)))
    pipeline = Pipeline(MODEL, "sms")
    response = orchestrated_llm_call(model.client, REQUEST, pipeline=pipeline, retry=no_wait())
    assert response["output"]["message"]["content"] == [{"text": "Hello!"}]
    [attempt, ok] = log_lines(logs, "orchestration")
    assert (attempt["event"], attempt["outcome"], ok["event"]) == (
        "model_attempt",
        "ok",
        "model_call_ok",
    )
    assert ok["stop_reason"] == "end_turn" and ok["turn"] == pipeline.id
    [perf] = log_lines(logs, "performance")
    assert perf["event"] == "model_call" and perf["model"] == MODEL
    assert (perf["input_tokens"], perf["output_tokens"]) == (321, 12)
    assert perf["latency_ms"] >= 0 and perf["estimated_input_tokens"] == estimate_tokens(REQUEST)
    assert (pipeline.input_tokens, pipeline.output_tokens, pipeline.model_calls) == (321, 12, 1)


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelTimeoutException",
        "InternalServerException",
    ],
)
def test_transient_errors_are_retried_then_reported(model, logs, code):
    waits = []
    model.script(*[failure(code)] * 3)
    with pytest.raises(ModelCallFailed) as failed:
        orchestrated_llm_call(
            model.client, REQUEST, pipeline=Pipeline(MODEL, "sms"), retry=no_wait(waits)
        )
    assert (failed.value.code, failed.value.attempts) == (code, 3)
    model.done()
    assert len(waits) == 2
    last = log_lines(logs, "orchestration")[-1]
    assert (last["event"], last["code"], last["attempts"]) == ("model_call_failed", code, 3)


@pytest.mark.parametrize(
    "code",
    [
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ModelErrorException",
    ],
)
def test_validation_and_access_errors_are_not_retried(model, code):
    model.script(failure(code))
    with pytest.raises(ModelCallFailed) as failed:
        orchestrated_llm_call(
            model.client, REQUEST, pipeline=Pipeline(MODEL, "sms"), retry=no_wait()
        )
    assert (failed.value.code, failed.value.attempts) == (code, 1)


def test_any_5xx_is_transient(model):
    model.script(("BadGatewayException", "upstream", 502), answer("Hello!"))
    orchestrated_llm_call(model.client, REQUEST, pipeline=Pipeline(MODEL, "sms"), retry=no_wait())
    model.done()


class FlakyClient:
    """A client whose first calls fail at the connection, as botocore reports it."""

    def __init__(self, errors, then):
        self.errors, self.then, self.calls = list(errors), then, 0

    def converse(self, **_request):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.then


def test_connection_and_read_timeouts_are_retried():
    client = FlakyClient(
        [
            EndpointConnectionError(endpoint_url="https://bedrock.invalid"),
            ReadTimeoutError(endpoint_url="https://bedrock.invalid"),
        ],
        answer("Hi"),
    )
    orchestrated_llm_call(client, REQUEST, pipeline=Pipeline(MODEL, "sms"), retry=no_wait())
    assert client.calls == 3


def test_the_total_retry_time_is_bounded():
    client = FlakyClient([EndpointConnectionError(endpoint_url="https://x.invalid")] * 5, None)
    with pytest.raises(ModelCallFailed) as failed:
        orchestrated_llm_call(
            client,
            REQUEST,
            pipeline=Pipeline(MODEL, "sms"),
            retry=RetryPolicy(attempts=5, max_seconds=0, sleep=lambda s: None),
        )
    assert failed.value.attempts == 1 and failed.value.code == "EndpointConnectionError"


def test_backoff_grows_with_jitter_and_a_cap():
    waits = []
    client = FlakyClient([EndpointConnectionError(endpoint_url="https://x.invalid")] * 6, None)
    with pytest.raises(ModelCallFailed):
        orchestrated_llm_call(
            client,
            REQUEST,
            pipeline=Pipeline(MODEL, "sms"),
            retry=RetryPolicy(attempts=6, first_wait=1, max_wait=3, sleep=waits.append),
        )
    assert len(waits) == 5 and all(0 <= w <= 3 for w in waits)


def test_an_unexpected_client_error_is_a_failed_call_not_a_crash():
    client = FlakyClient([RuntimeError("socket exploded")], None)
    with pytest.raises(ModelCallFailed) as failed:
        orchestrated_llm_call(client, REQUEST, pipeline=Pipeline(MODEL, "sms"), retry=no_wait())
    assert failed.value.code == "RuntimeError"
    assert not is_transient(RuntimeError())


# --- privacy and sendability --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("call me on +1 555 0100", "call me on [phone]"),
        ("my cell: (917) 555-0142.", "my cell: [phone]."),
        ("reach me at 917.555.0142 or x@y.org", "reach me at [phone] or [email]"),
        ("book 2026-03-05 at 3:30 for 2 people", "book 2026-03-05 at 3:30 for 2 people"),
        ("on 03/05/2026 please", "on 03/05/2026 please"),
        ("from 2026-03-05 - 2026-03-10", "from 2026-03-05 - 2026-03-10"),
        ("my name is Ana Silva and I need a shot", "my name is the patient and I need a shot"),
        ("call me back tomorrow", "call me back tomorrow"),
    ],
)
def test_phone_numbers_and_names_are_redacted(text, expected):
    assert redact(text) == expected


def test_the_stored_name_is_redacted_anywhere():
    assert redact("JORDAN here, Jordan Testperson, jordan's visit", name="Jordan Testperson") == (
        "the patient here, the patient, the patient's visit"
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Book slot-3?", "internal_id"),
        ("appt-12 is set", "internal_id"),
        ('{"x": 1}', "internal_id"),
        ("see <b>this</b>", "internal_id"),
        ("ID: 4411", "internal_id"),
        ("ok " * 250, "too_long"),
        ("\u4f60\u597d", "charset"),
    ],
)
def test_unsendable_replies_are_named(text, reason):
    assert check_reply(text) == (None, reason)


def test_replies_are_made_gsm_safe():
    assert check_reply("\u201cS\u00ed\u201d \u2014 caf\u00e9 \u00e1 la 9 \u2705") == (
        '"Si" - café a la 9',
        None,
    )
    assert check_reply("## Times\n* **Thu** 8:00") == ("Times\nThu 8:00", None)


@pytest.mark.parametrize(
    "text, found",
    [
        ("You're booked for Thursday at 8:00.", {"booked"}),
        ("I've booked it.", {"booked"}),
        ("Your visit has been cancelled.", {"cancelled"}),
        ("I moved it; it is now on Friday.", {"rescheduled"}),
        ("Would you like me to book 8:00?", set()),
        ("Shall I cancel it?", set()),
    ],
)
def test_change_claims_are_recognized(text, found):
    assert claims(text) == found


# --- the prompt --------------------------------------------------------------------------------


def test_the_system_prompt_carries_the_clinics_facts_and_the_time(demo_clinic):
    prompt = system_prompt(demo_clinic, NOW, {})
    assert "Maple Street Family Clinic" in prompt and "(212) 555-0100" in prompt
    assert "Now: Wednesday 2026-03-04 09:00 clinic time." in prompt
    assert "okafor: Dr. Amara Okafor; Mon-Thu 08:00-17:00, Fri 08:00-13:00" in prompt
    assert "vaccination: Vaccination, 15 min, 1h to 60d; moreau" in prompt
