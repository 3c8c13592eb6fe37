"""Talking to Amazon Bedrock: the bedrock-runtime client, and the one way a model is called.

`make_client` builds the boto3 client with explicit timeouts and botocore's own retries off, so
that `orchestrated_llm_call` is where every attempt is made, retried and logged. Transient errors
(throttling, service unavailable, model timeout, 5xx, connection and read timeouts) are retried with
tenacity, exponential backoff with jitter and a bounded total time (`RetryPolicy`); validation and
access errors are not. botocore's errors are translated here, at the boundary: the engine sees
`ModelCallFailed` (Bedrock did not answer) or `BadResponse` (it answered with nothing usable).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from bot import logfiles
from bot.model.pipeline import Pipeline
from bot.settings import Settings, SettingsError
from scheduler.errors import ChannelError

log = logging.getLogger("scheduler.llm")

# A default for AWS_REGION when it is unset (Bedrock needs a region to sign requests).
DEFAULT_REGION = "us-east-1"
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 20

# Error codes worth another attempt; any 5xx is too. Validation and access errors are not.
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelTimeoutException",
        "InternalServerException",
        "ModelNotReadyException",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How a model call is retried. `sleep` is injectable so tests wait for nothing."""

    attempts: int = 3
    max_seconds: float = 20.0
    first_wait: float = 0.5
    max_wait: float = 4.0
    sleep: Callable[[float], None] = time.sleep


class _PastDeadline(stop_base):
    """Stop retrying once the turn's time budget is spent (`Pipeline.deadline`, monotonic)."""

    def __init__(self, deadline: float):
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() >= self.deadline


class ModelCallFailed(ChannelError):
    """Bedrock did not answer: `code` is its error code (or the exception's name)."""

    def __init__(self, code: str, attempts: int):
        super().__init__(f"model call failed: {code} after {attempts} attempt(s)")
        self.code = code
        self.attempts = attempts


class BadResponse(ChannelError):
    """The model answered, but not with anything usable; `reason` names how."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def error_code(exc: BaseException) -> str:
    """Bedrock's error code for a failed call, or the exception's name when it has none."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same call again may work."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error_code(exc) in TRANSIENT_CODES or status >= 500
    return isinstance(exc, (BotoConnectionError, ReadTimeoutError, ConnectionClosedError))


def estimate_tokens(request: dict[str, Any]) -> int:
    """A rough input-token count of a request (about four characters a token)."""
    return -(-len(json.dumps(request, separators=(",", ":"), default=str)) // 4)


def make_client(settings: Settings) -> Any:
    """A bedrock-runtime client with explicit timeouts and botocore's own retries off (tenacity
    retries in `orchestrated_llm_call`, where each attempt is logged).

    Keys given in the settings (with AWS_SESSION_TOKEN for temporary ones) sign every request
    as they are. Without them boto3's credential chain finds them (AWS_PROFILE with SSO, a web
    identity token, an ECS task role, an EC2 instance profile), and botocore renews temporary
    ones before they expire; finding none stops the start."""
    import boto3
    from botocore.config import Config

    session = boto3.Session()
    if settings.aws_access_key_id is None and session.get_credentials() is None:
        raise SettingsError(
            "LLM_ENGINE=bedrock found no AWS credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN with temporary keys), or run where "
            "boto3 finds them (AWS_PROFILE, an ECS task role, an EC2 instance profile)"
        )
    return session.client(
        "bedrock-runtime",
        region_name=settings.aws_region or DEFAULT_REGION,
        endpoint_url=settings.bedrock_endpoint_url or None,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"total_max_attempts": 1, "mode": "standard"},
        ),
    )


def orchestrated_llm_call(
    client: Any,
    request: dict[str, Any],
    *,
    pipeline: Pipeline,
    retry: RetryPolicy = RetryPolicy(),
    round_: int = 0,
) -> dict[str, Any]:
    """Call Bedrock's Converse API once, retrying transient errors; the one way a model is called.

    Logs each attempt and the success or failure (error code) to orchestration.log, and latency,
    tokens and the model id to performance.log. Raises `ModelCallFailed` when no attempt worked,
    `BadResponse` when the answer is not a Converse response at all.
    """
    estimated = estimate_tokens(request)
    pipeline.estimated_max = max(pipeline.estimated_max, estimated)
    attempts = 0
    started = time.perf_counter()

    def attempt() -> tuple[dict[str, Any], float]:
        nonlocal attempts
        attempts += 1
        begun = time.perf_counter()
        try:
            response = client.converse(**request)
        except Exception as exc:  # botocore raises many unrelated classes: each is sorted below
            pipeline.log(
                "model_attempt",
                round=round_,
                attempt=attempts,
                outcome="error",
                code=error_code(exc),
                retryable=is_transient(exc),
                ms=round((time.perf_counter() - begun) * 1000, 3),
            )
            raise
        ms = (time.perf_counter() - begun) * 1000
        pipeline.log("model_attempt", round=round_, attempt=attempts, outcome="ok", ms=round(ms, 3))
        return response, ms

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=(
            stop_after_attempt(retry.attempts)
            | stop_after_delay(retry.max_seconds)
            | _PastDeadline(pipeline.deadline)
        ),
        wait=wait_random_exponential(multiplier=retry.first_wait, max=retry.max_wait),
        sleep=retry.sleep,
        reraise=True,
    )
    try:
        response, latency = retrying(attempt)
    except ResponseParserError:
        # Bedrock answered, but not in the Converse shape: a bad response, not an outage.
        pipeline.log(
            "model_call_failed",
            round=round_,
            code="ResponseParserError",
            attempts=attempts,
            retryable=False,
            ms=round((time.perf_counter() - started) * 1000, 3),
        )
        pipeline.log("bad_response", reason="malformed")
        raise BadResponse("malformed") from None
    except Exception as exc:  # whatever the call raised becomes a ModelCallFailed, with its code
        code = error_code(exc)
        if not isinstance(exc, (ClientError, BotoCoreError)):
            log.exception("unexpected error calling Bedrock (turn %s)", pipeline.id)
        pipeline.log(
            "model_call_failed",
            round=round_,
            code=code,
            attempts=attempts,
            retryable=is_transient(exc),
            ms=round((time.perf_counter() - started) * 1000, 3),
        )
        raise ModelCallFailed(code, attempts) from exc

    usage = response.get("usage") if isinstance(response, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    input_tokens = int(usage.get("inputTokens") or 0)
    output_tokens = int(usage.get("outputTokens") or 0)
    pipeline.model_calls += 1
    pipeline.model_ms += latency
    pipeline.input_tokens += input_tokens
    pipeline.output_tokens += output_tokens
    stop_reason = response.get("stopReason") if isinstance(response, dict) else None
    pipeline.log(
        "model_call_ok",
        round=round_,
        attempts=attempts,
        stop_reason=stop_reason,
        ms=round((time.perf_counter() - started) * 1000, 3),
    )
    logfiles.write(
        "performance",
        "model_call",
        turn=pipeline.id,
        model=pipeline.model_id,
        round=round_,
        latency_ms=round(latency, 3),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        estimated_input_tokens=estimated,
        attempts=attempts,
    )
    return response
