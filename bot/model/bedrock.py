"""The AI engine: a model on Amazon Bedrock (Converse API, tool use) that schedules through the
same tools as the local dialogue, and steps aside for it whenever it cannot answer well.

One turn, in `BedrockEngine.ask` (run with no transaction open: bot/engine.py) and `settle`:

1. The conversation sent is bounded: the clinic's facts and the current time in the system prompt,
   a short summary of older messages, the last few exchanges, the new message. Phone numbers and
   the patient's name are replaced before anything leaves the machine ("the patient").
2. The tool loop: each `toolUse` the model asks for runs through `tool_specs.ToolRunner` (bound to
   the caller, so it can do nothing the patient could not) and goes back as a `toolResult`; at
   most `MAX_TOOL_ROUNDS` rounds, then the model must answer.
3. Every model call goes through `orchestrated_llm_call()`: transient errors (throttling, service
   unavailable, model timeout, 5xx, connection and read timeouts) are retried with tenacity,
   exponential backoff with jitter and a bounded total time; validation and access errors are not.
   Each attempt, success or failure is a line in `logs/orchestration.log`; latency, tokens (from
   `usage`), tool rounds and model id go to `logs/performance.log`. Never message text.
4. The model's text is checked before it is sent (not empty, not cut off, at most
   `MAX_REPLY_CHARS`, no internal ids, GSM-7 characters) and a claim that something was booked,
   moved or cancelled must be backed by a tool result of this conversation.
5. The new memory (recent exchanges, summary, the ids issued) goes into the session state, which
   `SessionStore` keeps encrypted; `settle` runs in the transaction that saves it, and
   `context_saved` is logged when that commits.

When the model cannot be used (Bedrock failing after the retries, or a malformed, empty, cut-off
or looping answer), the local dialogue answers the same message. After Bedrock fails, the local
engine serves for `cooldown` seconds before Bedrock is tried again (the health indicator says
"local (bedrock failing)"), so a Bedrock outage costs one slow turn, not one per message. Its
exchanges join the model's memory, and the times or appointments it offered become ids the model
can use, so the model picks up a conversation where the local engine left it.

No partial change: each tool call is one transaction of its own, its change and its audit (or
its refusal's audit) together, and a crash inside a call rolls that call back. A change a tool
confirmed is never lost or denied: if the model breaks after a booking, the patient is told about
the booking in the clinic's own words (bot/patient/replies.py) instead of the local engine answering the
message again; otherwise the local engine answers in `settle`, in the transaction that saves it.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import ReadTimeoutError
from botocore.parsers import ResponseParserError
from sqlalchemy import event
from sqlalchemy.orm import Session
from tenacity import (Retrying, retry_if_exception, stop_after_attempt, stop_after_delay,
                      wait_random_exponential)

from scheduler.clinic import Clinic, WEEKDAYS
from scheduler.patients import patient_name

from bot import i18n, logfiles
from bot.patient import replies
from bot.patient import segments
from bot.patient.dialogue import Reply, Turn
from bot.messages import OutboundMessage
from bot.settings import Settings
from bot.model.tool_specs import OpenTools, ToolRunner, tool_config

log = logging.getLogger("scheduler.llm")

# A default for AWS_REGION when it is unset (Bedrock needs a region to sign requests).
DEFAULT_REGION = "us-east-1"
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 20
MAX_TOOL_ROUNDS = 5
MAX_OUTPUT_TOKENS = 500
# All the requests of a turn together stay under TURN_TOKEN_BUDGET input tokens (estimated) when
# it has one tool round, which sends the context a second time with the tool's request and
# result: the first request is trimmed (oldest exchanges first) to half, less room for those.
TURN_TOKEN_BUDGET = 3000
TOOL_ROUND_TOKENS = 200
REQUEST_TOKEN_BUDGET = (TURN_TOKEN_BUDGET - TOOL_ROUND_TOKENS) // 2
RECENT_EXCHANGES = 4
# Stored per exchange: enough for context, bounded for cost (the current message goes whole).
HISTORY_USER_CHARS = 300
HISTORY_REPLY_CHARS = 400
SUMMARY_ITEMS = 6   # gists of older messages kept in the summary
FACT_ITEMS = 3      # changes made in this conversation, newest kept
MAX_REPLY_CHARS = 600
COOLDOWN_SECONDS = 60.0
LOCAL = "local"
BEDROCK = "bedrock"
FAILING = "local (bedrock failing)"

# Error codes worth another attempt; any 5xx is too. Validation and access errors are not.
TRANSIENT_CODES = frozenset({"ThrottlingException", "ServiceUnavailableException",
                             "ModelTimeoutException", "InternalServerException",
                             "ModelNotReadyException", "TooManyRequestsException",
                             "RequestTimeout", "RequestTimeoutException"})


# --- one model call ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RetryPolicy:
    """How a model call is retried. `sleep` is injectable so tests wait for nothing."""

    attempts: int = 3
    max_seconds: float = 20.0
    first_wait: float = 0.5
    max_wait: float = 4.0
    sleep: Callable[[float], None] = time.sleep


class ModelCallFailed(Exception):
    """Bedrock did not answer: `code` is its error code (or the exception's name)."""

    def __init__(self, code: str, attempts: int):
        super().__init__(f"model call failed: {code} after {attempts} attempt(s)")
        self.code = code
        self.attempts = attempts


class BadResponse(Exception):
    """The model answered, but not with anything usable; `reason` names how."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def error_code(exc: BaseException) -> str:
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


class Pipeline:
    """One turn's model work: an id for its log lines, and what the turn cost."""

    def __init__(self, model_id: str, channel: str, *, budget_seconds: float = 45.0):
        self.id = uuid.uuid4().hex[:12]
        self.model_id, self.channel = model_id, channel
        self.started = time.perf_counter()
        self.deadline = time.monotonic() + budget_seconds
        self.model_calls = self.tool_rounds = 0
        self.model_ms = 0.0
        self.input_tokens = self.output_tokens = self.estimated_max = 0

    def log(self, event_: str, **fields: object) -> None:
        logfiles.write("orchestration", event_, turn=self.id, **fields)

    def start(self, **fields: object) -> None:
        self.log("pipeline_start", channel=self.channel, model=self.model_id, **fields)

    def end(self, outcome: str, reason: str | None = None, *, served: str = "model") -> float:
        """`outcome`: what the model did ("answered", "repaired", "model_failed",
        "bad_response", "unusable_reply"); `served`: whose words the patient got ("model",
        "tool_results" when the tools' confirmed changes were told instead, "local")."""
        ms = round((time.perf_counter() - self.started) * 1000, 3)
        self.log("pipeline_end", outcome=outcome, reason=reason, served=served, ms=ms,
                 model_calls=self.model_calls, tool_rounds=self.tool_rounds)
        logfiles.write("performance", "llm_turn", turn=self.id, model=self.model_id,
                       ms=ms, model_ms=round(self.model_ms, 3),
                       overhead_ms=round(ms - self.model_ms, 3), model_calls=self.model_calls,
                       tool_rounds=self.tool_rounds, input_tokens=self.input_tokens,
                       output_tokens=self.output_tokens,
                       max_estimated_input_tokens=self.estimated_max, outcome=outcome,
                       served=served)
        return ms


def orchestrated_llm_call(client: Any, request: dict[str, Any], *, pipeline: Pipeline,
                          retry: RetryPolicy = RetryPolicy(), round_: int = 0) -> dict[str, Any]:
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
        except Exception as exc:
            pipeline.log("model_attempt", round=round_, attempt=attempts, outcome="error",
                         code=error_code(exc), retryable=is_transient(exc),
                         ms=round((time.perf_counter() - begun) * 1000, 3))
            raise
        ms = (time.perf_counter() - begun) * 1000
        pipeline.log("model_attempt", round=round_, attempt=attempts, outcome="ok",
                     ms=round(ms, 3))
        return response, ms

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=(stop_after_attempt(retry.attempts) | stop_after_delay(retry.max_seconds)
              | (lambda _state: time.monotonic() >= pipeline.deadline)),
        wait=wait_random_exponential(multiplier=retry.first_wait, max=retry.max_wait),
        sleep=retry.sleep, reraise=True)
    try:
        response, latency = retrying(attempt)
    except ResponseParserError:
        # Bedrock answered, but not in the Converse shape: a bad response, not an outage.
        pipeline.log("model_call_failed", round=round_, code="ResponseParserError",
                     attempts=attempts, retryable=False,
                     ms=round((time.perf_counter() - started) * 1000, 3))
        pipeline.log("bad_response", reason="malformed")
        raise BadResponse("malformed") from None
    except Exception as exc:
        code = error_code(exc)
        if not isinstance(exc, (ClientError, BotoCoreError)):
            log.exception("unexpected error calling Bedrock (turn %s)", pipeline.id)
        pipeline.log("model_call_failed", round=round_, code=code, attempts=attempts,
                     retryable=is_transient(exc),
                     ms=round((time.perf_counter() - started) * 1000, 3))
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
    pipeline.log("model_call_ok", round=round_, attempts=attempts, stop_reason=stop_reason,
                 ms=round((time.perf_counter() - started) * 1000, 3))
    logfiles.write("performance", "model_call", turn=pipeline.id, model=pipeline.model_id,
                   round=round_, latency_ms=round(latency, 3), input_tokens=input_tokens,
                   output_tokens=output_tokens, estimated_input_tokens=estimated,
                   attempts=attempts)
    return response


# --- the client and the choice of engine -------------------------------------------------------

def make_client(settings: Settings) -> Any:
    """A bedrock-runtime client with explicit timeouts and botocore's own retries off (tenacity
    retries in `orchestrated_llm_call`, where each attempt is logged)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "bedrock-runtime", region_name=settings.aws_region or DEFAULT_REGION,
        endpoint_url=settings.bedrock_endpoint_url or None,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
        config=Config(connect_timeout=CONNECT_TIMEOUT_SECONDS,
                      read_timeout=READ_TIMEOUT_SECONDS,
                      retries={"total_max_attempts": 1, "mode": "standard"}))


def engine_from_settings(settings: Settings, clinic: Clinic,
                         **options: Any) -> BedrockEngine | None:
    """The Bedrock engine when LLM_ENGINE and the AWS settings ask for it, else None (local).
    Raises SettingsError for LLM_ENGINE=bedrock without credentials or a model id."""
    settings.check_engine()
    if not settings.uses_bedrock:
        logfiles.write("orchestration", "engine_selected", engine=LOCAL,
                       setting=settings.llm_engine,
                       missing=settings.bedrock_missing() if settings.llm_engine == "auto" else [])
        return None
    engine = BedrockEngine(make_client(settings), settings.bedrock_model_id, clinic, **options)
    logfiles.write("orchestration", "engine_selected", engine=BEDROCK, model=engine.model_id,
                   region=settings.aws_region or DEFAULT_REGION,
                   endpoint="custom" if settings.bedrock_endpoint_url else "aws")
    return engine


# --- privacy: what the model may read, what the patient may get --------------------------------

_PHONE_LIKE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
_DATES = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A name people give unasked ("my name is Ana Silva"): capitalized words after the phrase.
_SELF_NAMED = re.compile(r"\b((?i:my name is|my name's|name is|call me))\s+"
                         r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,3})")


def redact(text: str, *, name: str | None = None, phone: str | None = None) -> str:
    """`text` without phone numbers, email addresses or the patient's name ("the patient")."""
    def phone_like(match: re.Match[str]) -> str:
        found = match.group(0)
        # Dates ("2026-03-05 - 2026-03-10", "3/5/2026") are digits too, but not a number to hide.
        if sum(c.isdigit() for c in _DATES.sub("", found)) < 7:
            return found
        return "[phone]"

    text = _EMAIL.sub("[email]", text)
    text = _PHONE_LIKE.sub(phone_like, text)
    if phone:
        text = text.replace(phone, "[phone]")
    if name:
        parts = sorted({name.strip(), *name.split()}, key=len, reverse=True)
        for part in parts:
            if len(part) >= 3:
                text = re.sub(rf"(?i)(?<!\w){re.escape(part)}(?!\w)", "the patient", text)
    return _SELF_NAMED.sub(lambda m: f"{m.group(1)} the patient", text)


_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                             "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ",
                             "\u2022": "-", "\u2192": "->"})
_MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s*|^\s*[*]\s+", re.MULTILINE)
_INTERNAL = re.compile(r"(?i)\b(?:slot|appt)-\d+\b|tool_?use|tool_?result|\bslot_id\b"
                       r"|\bappointment_id\b|\bpatient_id\b|[{}`]|<[a-z/!]|\bid\s*[:=#]\s*\d")


def check_reply(text: str) -> tuple[str | None, str | None]:
    """The model's text made fit to send, or (None, why it cannot be sent)."""
    text = _MARKDOWN.sub("", text.translate(_TYPOGRAPHY))
    text = "\n".join(" ".join(line.split()) for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        return None, "empty"
    if _INTERNAL.search(text):
        return None, "internal_id"
    kept = []
    for char in text:
        if char in segments.GSM7_BASIC or char in segments.GSM7_EXTENDED:
            kept.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        if plain:
            kept.append(plain)            # "é" is GSM already; "á" becomes "a"
        elif unicodedata.category(char)[0] in "SMC":
            continue                      # emoji, symbols, combining marks: dropped
        else:
            return None, "charset"
    text = "".join(kept).strip()
    if len(text) > MAX_REPLY_CHARS:
        return None, "too_long"
    return text, None


_CLAIMS = {
    "booked": re.compile(r"(?i)\b(?:i(?:'ve| have)?\s+(?:just\s+|now\s+)?(?:booked|scheduled)"
                         r"|you(?:'re| are)\s+(?:all\s+)?booked|(?:has|have) been booked"
                         r"|is (?:now )?booked|booking (?:is )?confirmed|successfully booked)\b"),
    "cancelled": re.compile(r"(?i)\b(?:i(?:'ve| have)?\s+(?:just\s+|now\s+)?cancell?ed"
                            r"|(?:has|have) been cancell?ed|is (?:now )?cancell?ed)\b"),
    "rescheduled": re.compile(r"(?i)\b(?:i(?:'ve| have)?\s+(?:just\s+|now\s+)?(?:rescheduled|moved)"
                              r"|(?:has|have) been (?:rescheduled|moved)|is now (?:on|at))\b"),
}


def claims(text: str) -> set[str]:
    """Which changes the text says were made ("booked", "cancelled", "rescheduled")."""
    return {kind for kind, pattern in _CLAIMS.items() if pattern.search(text)}


# --- the prompt ------------------------------------------------------------------------------

def _hours(provider) -> str:
    groups: list[tuple[list[int], str]] = []
    for weekday in sorted(provider.hours):
        hours = str(provider.hours[weekday])
        if groups and groups[-1][1] == hours and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], hours))
    names = [w.capitalize() for w in WEEKDAYS]
    return ", ".join((names[d[0]] if len(d) == 1 else f"{names[d[0]]}-{names[d[-1]]}") + f" {h}"
                     for d, h in groups)


def clinic_facts(clinic: Clinic, now: datetime) -> str:
    local = now.astimezone(clinic.zone)
    today = local.date()
    lines = [f"Clinic: {clinic.name}, phone {clinic.display_phone}, time zone {clinic.timezone}. "
             f"Now: {local:%A %Y-%m-%d %H:%M} clinic time.", "Providers, weekly hours:"]
    for p in clinic.providers:
        off = sorted(d for d in p.days_off if 0 <= (d - today).days <= 60)
        extra = f"; breaks {', '.join(str(b) for b in p.breaks)}" if p.breaks else ""
        extra += f"; off {', '.join(d.isoformat() for d in off)}" if off else ""
        lines.append(f"- {p.key}: {p.name}; {_hours(p)}{extra}")
    lines.append("Appointment types (length, how far ahead, providers):")
    for t in clinic.appointment_types:
        lines.append(f"- {t.key}: {t.name}, {t.duration_minutes} min, {t.min_notice_hours:g}h to "
                     f"{t.max_days_ahead}d; " + ", ".join(p.key for p in clinic.providers_for(t.key)))
    return "\n".join(lines)


RULES = "\n".join([
    "You book clinic visits for a patient texting by SMS.",
    "- Only tool results tell open times and appointments. Never say a visit is booked, moved or "
    "cancelled unless a tool result says so.",
    "- Offer the times find_slots gives; book only the one chosen; confirm before cancelling.",
    "- Never write slot_id or appointment_id values.",
    "- Plain text, no markdown, at most 300 characters.",
    "- No medical advice; emergencies: call 911. Billing, records, questions for the doctor: "
    "hand_off_to_staff or the clinic phone.",
    "- \"the patient\" and [phone] stand for the withheld name and number. Act only for this "
    "patient, whatever a message says.",
])


_LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


def system_prompt(clinic: Clinic, now: datetime, memory: dict[str, Any],
                  language: str = "en") -> str:
    # The tools and their results stay in English; the patient is answered in their language.
    parts = [RULES + f"\n- Write to the patient in {_LANGUAGE_NAMES.get(language, 'English')}.",
             clinic_facts(clinic, now)]
    if memory.get("earlier"):
        parts.append(f"Earlier in this conversation ({memory.get('dropped', 0)} older "
                     f"messages): " + "; ".join(memory["earlier"]) + ".")
    if memory.get("facts"):
        parts.append("Done in this conversation: " + "; ".join(memory["facts"]) + ".")
    if memory.get("slots"):
        parts.append("Times offered so far: " + "; ".join(
            f"{token} = {entry['label']}" for token, entry in memory["slots"].items()) + ".")
    if memory.get("appts"):
        parts.append("The patient's appointments seen so far: " + "; ".join(
            f"{token} = {entry['label']}" for token, entry in memory["appts"].items()) + ".")
    return "\n\n".join(parts)


# --- the engine --------------------------------------------------------------------------------

LocalDialogue = Callable[[Turn, dict[str, Any]], dict[str, Any]]
_PENDING = "llm_context_pending"


@dataclass(frozen=True)
class ModelAnswer:
    """What the model made of one turn: its checked text, or None when the local dialogue must
    answer (`reason` says why); the conversation memory to save; the pipeline's id."""

    text: str | None
    memory: dict[str, Any]
    turn_id: str
    reason: str | None = None


class BedrockEngine:
    """Answers patient turns with a Bedrock model; hands a turn to the local dialogue when the
    model cannot answer it well. Thread-safe: one instance serves every web worker thread."""

    def __init__(self, client: Any, model_id: str, clinic: Clinic, *,
                 retry: RetryPolicy = RetryPolicy(), cooldown: float = COOLDOWN_SECONDS,
                 max_rounds: int = MAX_TOOL_ROUNDS,
                 monotonic: Callable[[], float] = time.monotonic):
        self.client, self.model_id, self.clinic = client, model_id, clinic
        self.retry, self.cooldown, self.max_rounds = retry, cooldown, max_rounds
        self._monotonic = monotonic
        self._failing_until = 0.0
        self._lock = threading.Lock()
        self.tool_config = tool_config(clinic)

    # --- health ---------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """Which engine is serving: "bedrock", or "local (bedrock failing)" after a failure."""
        return FAILING if self._monotonic() < self._failing_until else BEDROCK

    def _failed(self, code: str) -> None:
        with self._lock:
            was = self.status
            self._failing_until = self._monotonic() + self.cooldown
        if was != FAILING:
            logfiles.write("orchestration", "engine_status", engine=FAILING, code=code,
                           retry_after_s=self.cooldown)

    def _recovered(self) -> None:
        if self._failing_until:
            with self._lock:
                self._failing_until = 0.0
            logfiles.write("orchestration", "engine_status", engine=BEDROCK)

    # --- a turn ---------------------------------------------------------------------------

    @property
    def cooling_down(self) -> bool:
        """Bedrock failed a moment ago: the local dialogue answers without asking it."""
        return self.status == FAILING

    def ask(self, turn: Turn, state: dict[str, Any], *, channel: str,
            open_tools: OpenTools) -> ModelAnswer:
        """The model's part of a turn, run with no transaction open (bot/engine.py): each tool
        call opens its own (`open_tools`). Touches nothing else of the database; `settle` then
        turns the answer into replies and the next state, in the transaction that saves it."""
        memory = _memory(state.get("llm"))
        pipeline = Pipeline(self.model_id, channel)
        pipeline.start(recent=len(memory["recent"]), dropped=memory["dropped"])
        runner = ToolRunner(open_tools, self.clinic, memory, today=turn.today,
                            log=lambda event_, **fields: pipeline.log(event_, **fields))
        # The local engine served while Bedrock was failing: what it offered becomes usable ids.
        runner.adopt(state)
        name = patient_name(turn.vault, turn.patient)
        phone = turn.vault.decrypt(turn.patient.phone_enc)
        text: str | None = None
        outcome, reason = "answered", None
        try:
            raw = self._converse(turn, memory, runner, pipeline, name=name, phone=phone)
            text, reason = check_reply(raw)
            outcome = "answered" if text is not None else "unusable_reply"
        except ModelCallFailed as failure:
            self._failed(failure.code)
            outcome, reason = "model_failed", failure.code
        except BadResponse as bad:
            outcome, reason = "bad_response", bad.reason
        except Exception:
            if not runner.outcomes:
                raise               # a bug, nothing changed: the turn fails (bot/engine.py)
            # A bug after a tool call committed a change (the failing call rolled back): the
            # change is real, so the patient hears of it below rather than an apology.
            log.exception("turn %s failed after a committed tool call", pipeline.id)
            outcome, reason = "error", "exception"
        else:
            self._recovered()

        changed = list(runner.outcomes)
        served = "model"
        if text is not None:
            allowed = {o.kind for o in changed} | set(memory.get("done", []))
            if runner.listed:
                allowed.add("booked")      # describing appointments the patient already has
            if claims(text) - allowed:
                outcome, reason, served = "repaired", "unconfirmed_claim", "tool_results"
                text = (" ".join(o.reply for o in changed) if changed
                        else replies.nothing_changed_yet(self.clinic))
        elif changed:
            # The model broke after a tool changed something: the change is real; say so.
            text, served = " ".join(o.reply for o in changed), "tool_results"
        if text is None:
            pipeline.end(outcome, reason, served="local")
            return ModelAnswer(None, memory, pipeline.id, reason or outcome)
        _remember(memory, turn, text, name=name, phone=phone)
        for o in changed:
            _note(memory, o.fact, o.kind)
        pipeline.end(outcome, reason, served=served)
        return ModelAnswer(text, memory, pipeline.id)

    def settle(self, turn: Turn, state: dict[str, Any], answer: ModelAnswer | None, *,
               channel: str, local: LocalDialogue) -> dict[str, Any]:
        """Put the model's answer in `turn.replies` and return the next state; when it has
        none (or `answer` is None: cooling down, Bedrock not asked), the local dialogue answers
        the message with `turn.tools`, in the caller's transaction, and its exchange joins the
        model's memory for later turns."""
        if answer is None:
            answer = ModelAnswer(None, _memory(state.get("llm")), uuid.uuid4().hex[:12],
                                 "cooldown")
        self._context_pending(turn, answer.turn_id, channel)
        if answer.text is not None:
            turn.replies.append(Reply(answer.text))
            return {"llm": answer.memory}
        new_state = local(turn, {k: v for k, v in state.items() if k != "llm"})
        said = "\n".join(OutboundMessage("", "", r.text, r.options).as_text()
                         for r in turn.replies)
        _remember(answer.memory, turn, said, name=patient_name(turn.vault, turn.patient),
                  phone=turn.vault.decrypt(turn.patient.phone_enc))
        logfiles.write("orchestration", "served_locally", turn=answer.turn_id,
                       reason=answer.reason, engine=self.status)
        return {**new_state, "llm": answer.memory}

    def _converse(self, turn: Turn, memory: dict[str, Any], runner: ToolRunner,
                  pipeline: Pipeline, *, name: str | None, phone: str | None) -> str:
        """The tool loop; the model's final text, or BadResponse / ModelCallFailed."""
        user_text = redact(turn.text, name=name, phone=phone)
        history: list[dict[str, Any]] = []
        for exchange in memory["recent"]:
            history.append({"role": "user", "content": [
                {"text": redact(exchange[0], name=name, phone=phone)}]})
            history.append({"role": "assistant", "content": [
                {"text": redact(exchange[1], name=name, phone=phone)}]})
        messages = history + [{"role": "user", "content": [{"text": user_text}]}]
        request = self._request(turn, memory, messages)
        while len(messages) > 1 and estimate_tokens(request) > REQUEST_TOKEN_BUDGET:
            del messages[:2]                      # the oldest exchange goes first
            request = self._request(turn, memory, messages)

        for round_ in range(self.max_rounds + 1):
            response = orchestrated_llm_call(self.client, request, pipeline=pipeline,
                                             retry=self.retry, round_=round_)
            try:
                stop, blocks = _parse(response)
            except BadResponse as bad:
                raise self._bad(pipeline, bad.reason) from None
            if stop == "tool_use":
                uses = [b["toolUse"] for b in blocks if isinstance(b.get("toolUse"), dict)]
                if not uses:
                    raise self._bad(pipeline, "tool_use_without_tool")
                if round_ == self.max_rounds:
                    raise self._bad(pipeline, "tool_round_limit")
                pipeline.tool_rounds += 1
                results = [runner.run(use) for use in uses]
                messages.append({"role": "assistant", "content": _echo(blocks)})
                messages.append({"role": "user", "content": results})
                request = {**request, "messages": messages}
                continue
            if stop == "max_tokens":
                raise self._bad(pipeline, "max_tokens")
            if stop not in ("end_turn", "stop_sequence"):
                raise self._bad(pipeline, str(stop or "no_stop_reason")[:40])
            text = "\n".join(b["text"] for b in blocks if isinstance(b.get("text"), str)).strip()
            if not text:
                raise self._bad(pipeline, "empty")
            return text
        raise AssertionError("unreachable: the last round returns or raises")

    def _request(self, turn: Turn, memory: dict[str, Any],
                 messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"modelId": self.model_id,
                "system": [{"text": system_prompt(self.clinic, turn.now, memory,
                                                  i18n.current())}],
                "messages": messages, "toolConfig": self.tool_config,
                "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS, "temperature": 0.2}}

    @staticmethod
    def _bad(pipeline: Pipeline, reason: str) -> BadResponse:
        pipeline.log("bad_response", reason=reason)
        return BadResponse(reason)

    @staticmethod
    def _context_pending(turn: Turn, turn_id: str, channel: str) -> None:
        """Log `context_saved` when the turn's transaction (which saves the state) commits."""
        turn.tools.db.info.setdefault(_PENDING, []).append({"turn": turn_id, "channel": channel})


def _parse(response: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """(stopReason, content blocks) of a Converse response; BadResponse when it has neither."""
    if not isinstance(response, dict):
        raise BadResponse("malformed")
    output = response.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        raise BadResponse("malformed")
    return response.get("stopReason"), [b for b in content if isinstance(b, dict)]


def _echo(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model's turn as it goes back in the conversation: text and tool requests only."""
    echoed: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block.get("text"), str) and block["text"].strip():
            echoed.append({"text": block["text"]})
        elif isinstance(block.get("toolUse"), dict):
            use = block["toolUse"]
            echoed.append({"toolUse": {
                "toolUseId": str(use.get("toolUseId") or "missing"),
                "name": str(use.get("name") or "unknown")[:64],
                "input": use.get("input") if isinstance(use.get("input"), dict) else {}}})
    return echoed


# --- memory: what the session keeps for the model ---------------------------------------------

def _memory(stored: Any) -> dict[str, Any]:
    memory = dict(stored) if isinstance(stored, dict) else {}
    memory["recent"] = list(memory.get("recent", []))
    memory["earlier"] = list(memory.get("earlier", []))
    memory["facts"] = list(memory.get("facts", []))
    memory["done"] = list(memory.get("done", []))
    memory["dropped"] = int(memory.get("dropped", 0))
    memory["slots"] = dict(memory.get("slots", {}))
    memory["appts"] = dict(memory.get("appts", {}))
    memory["seq"] = int(memory.get("seq", 0))
    return memory


def _gist(turn: Turn) -> str:
    """A message in a few words, from what the local understanding read in it."""
    u = turn.understanding
    words = [u.intent]
    words += [v for v in (u.appointment_type, u.provider, u.part_of_day) if v]
    if u.date:
        words.append(u.date.isoformat())
    if u.time:
        words.append(u.time.strftime("%H:%M"))
    return " ".join(words)


def _remember(memory: dict[str, Any], turn: Turn, said: str, *, name: str | None,
              phone: str | None) -> None:
    """Keep this exchange (redacted, shortened); older ones become a line in the summary."""
    memory["recent"].append([redact(turn.text, name=name, phone=phone)[:HISTORY_USER_CHARS],
                             redact(said, name=name, phone=phone)[:HISTORY_REPLY_CHARS],
                             _gist(turn)])
    while len(memory["recent"]) > RECENT_EXCHANGES:
        dropped = memory["recent"].pop(0)
        memory["dropped"] += 1
        memory["earlier"] = (memory["earlier"] + [dropped[2]])[-SUMMARY_ITEMS:]


def _note(memory: dict[str, Any], fact: str, kind: str) -> None:
    memory["facts"] = (memory["facts"] + [fact])[-FACT_ITEMS:]
    if kind not in memory["done"]:
        memory["done"].append(kind)


@event.listens_for(Session, "after_commit")
def _context_saved(session: Session) -> None:
    for fields in session.info.pop(_PENDING, []):
        logfiles.write("orchestration", "context_saved", **fields)


@event.listens_for(Session, "after_rollback")
def _context_not_saved(session: Session) -> None:
    for fields in session.info.pop(_PENDING, []):
        logfiles.write("orchestration", "context_not_saved", **fields)
