"""The AI engine: a model on Amazon Bedrock (Converse API, tool use) that schedules through the
same tools as the local dialogue, and steps aside for it whenever it cannot answer well.

One turn, in `BedrockEngine.ask` (run with no transaction open: bot/engine/conversation.py) and `settle`:

1. The conversation sent is bounded (bot/model/memory.py): the clinic's facts and the current time
   in the system prompt, a short summary of older messages, the last few exchanges, the new
   message. Phone numbers and the patient's name are replaced before anything leaves the machine
   ("the patient"); the oldest exchanges are dropped while the request is over its token budget.
2. The tool loop: each `toolUse` the model asks for runs through `ToolRunner`
   (bot/model/tool_runner.py: bound to the caller, so it can do nothing the patient could not) and
   goes back as a `toolResult`; at most `MAX_TOOL_ROUNDS` rounds, then the model must answer.
   Responses are read, and the model's turn echoed back, by bot/model/converse.py.
3. Every model call goes through `orchestrated_llm_call()` (bot/model/client.py), which retries
   transient errors and logs each attempt; the turn's log lines and cost are its `Pipeline`
   (bot/model/pipeline.py). Never message text.
4. The model's text is checked before it is sent (bot/model/checks.py: not empty, not cut off, not
   too long, no internal ids, GSM-7 characters) and a claim that something was booked, moved or
   cancelled must be backed by a tool result of this conversation.
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
the booking in the clinic's own words (bot/patient/replies/) instead of the local engine answering the
message again; otherwise the local engine answers in `settle`, in the transaction that saves it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot import i18n, logfiles, transactions
from bot.messages import OutboundMessage
from bot.model.checks import check_reply, claims
from bot.model.client import (
    DEFAULT_REGION,
    BadResponse,
    ModelCallFailed,
    RetryPolicy,
    estimate_tokens,
    make_client,
    orchestrated_llm_call,
)
from bot.model.converse import echo, parse_response
from bot.model.memory import conversation, load_memory, note, remember, system_prompt
from bot.model.pipeline import Pipeline
from bot.model.tool_runner import OpenTools, ToolRunner
from bot.model.tool_specs import tool_config
from bot.patient import replies
from bot.patient.dialogue import Reply, Turn
from bot.settings import Settings
from scheduler.clinic import Clinic
from scheduler.patients import patient_name

log = logging.getLogger("scheduler.llm")

MAX_TOOL_ROUNDS = 5
MAX_OUTPUT_TOKENS = 500
# All the requests of a turn together stay under TURN_TOKEN_BUDGET input tokens (estimated) when
# it has one tool round, which sends the context a second time with the tool's request and
# result: the first request is trimmed (oldest exchanges first) to half, less room for those.
TURN_TOKEN_BUDGET = 3000
TOOL_ROUND_TOKENS = 200
REQUEST_TOKEN_BUDGET = (TURN_TOKEN_BUDGET - TOOL_ROUND_TOKENS) // 2
COOLDOWN_SECONDS = 60.0
LOCAL = "local"
BEDROCK = "bedrock"
FAILING = "local (bedrock failing)"

LocalDialogue = Callable[[Turn, dict[str, Any]], dict[str, Any]]
_PENDING = "llm_context_pending"


def engine_from_settings(
    settings: Settings, clinic: Clinic, **options: Any
) -> BedrockEngine | None:
    """The Bedrock engine when LLM_ENGINE and the AWS settings ask for it, else None (local).
    Raises SettingsError for LLM_ENGINE=bedrock without credentials or a model id."""
    settings.check_engine()
    if not settings.uses_bedrock:
        logfiles.write(
            "orchestration",
            "engine_selected",
            engine=LOCAL,
            setting=settings.llm_engine,
            missing=settings.bedrock_missing() if settings.llm_engine == "auto" else [],
        )
        return None
    # check_engine let it through and it uses Bedrock: nothing Bedrock needs is missing.
    assert settings.bedrock_model_id is not None
    engine = BedrockEngine(make_client(settings), settings.bedrock_model_id, clinic, **options)
    logfiles.write(
        "orchestration",
        "engine_selected",
        engine=BEDROCK,
        model=engine.model_id,
        region=settings.aws_region or DEFAULT_REGION,
        endpoint="custom" if settings.bedrock_endpoint_url else "aws",
    )
    return engine


@dataclass(frozen=True)
class ModelAnswer:
    """What the model made of one turn: its checked text, or None when the local dialogue must
    answer (`reason` says why); the conversation memory to save; the pipeline's id. For the
    turn's analytics row (bot/engine/metrics.py): `error`, why the model's own answer was not
    used as it came (a failure code or a bad answer's reason, also when the tools' confirmed
    changes were told instead, or a claim repaired); the `Pipeline`'s model calls and tokens;
    `changes`, the kinds of what its tool calls changed, in order."""

    text: str | None
    memory: dict[str, Any]
    turn_id: str
    reason: str | None = None
    error: str | None = None
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    changes: tuple[str, ...] = ()


class BedrockEngine:
    """Answers patient turns with a Bedrock model; hands a turn to the local dialogue when the
    model cannot answer it well. Thread-safe: one instance serves every web worker thread."""

    def __init__(
        self,
        client: Any,
        model_id: str,
        clinic: Clinic,
        *,
        retry: RetryPolicy = RetryPolicy(),
        cooldown: float = COOLDOWN_SECONDS,
        max_rounds: int = MAX_TOOL_ROUNDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
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
            logfiles.write(
                "orchestration",
                "engine_status",
                engine=FAILING,
                code=code,
                retry_after_s=self.cooldown,
            )

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

    def ask(
        self, turn: Turn, state: dict[str, Any], *, channel: str, open_tools: OpenTools
    ) -> ModelAnswer:
        """The model's part of a turn, run with no transaction open (bot/engine/conversation.py): each tool
        call opens its own (`open_tools`). Touches nothing else of the database; `settle` then
        turns the answer into replies and the next state, in the transaction that saves it."""
        memory = load_memory(state.get("llm"))
        pipeline = Pipeline(self.model_id, channel)
        pipeline.start(recent=len(memory["recent"]), dropped=memory["dropped"])
        runner = ToolRunner(
            open_tools,
            self.clinic,
            memory,
            today=turn.today,
            log=lambda event_, **fields: pipeline.log(event_, **fields),
        )
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
        except Exception:  # any bug: what a tool already changed must still be told
            if not runner.outcomes:
                raise  # a bug, nothing changed: the turn fails (bot/engine/conversation.py)
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
                allowed.add("booked")  # describing appointments the patient already has
            if claims(text) - allowed:
                outcome, reason, served = "repaired", "unconfirmed_claim", "tool_results"
                text = (
                    " ".join(o.reply for o in changed)
                    if changed
                    else replies.nothing_changed_yet(self.clinic)
                )
        elif changed:
            # The model broke after a tool changed something: the change is real; say so.
            text, served = " ".join(o.reply for o in changed), "tool_results"
        error: str | None = reason
        if text is None:
            pipeline.end(outcome, reason, served="local")
            error = reason or outcome  # also why the local dialogue answers
        else:
            remember(memory, turn, text, name=name, phone=phone)
            for o in changed:
                note(memory, o.fact, o.kind)
            pipeline.end(outcome, reason, served=served)
        return ModelAnswer(
            text,
            memory,
            pipeline.id,
            error if text is None else None,
            error=error,
            model_calls=pipeline.model_calls,
            input_tokens=pipeline.input_tokens,
            output_tokens=pipeline.output_tokens,
            changes=tuple(o.kind for o in changed),
        )

    def settle(
        self,
        turn: Turn,
        state: dict[str, Any],
        answer: ModelAnswer | None,
        *,
        channel: str,
        local: LocalDialogue,
    ) -> dict[str, Any]:
        """Put the model's answer in `turn.replies` and return the next state; when it has
        none (or `answer` is None: cooling down, Bedrock not asked), the local dialogue answers
        the message with `turn.tools`, in the caller's transaction, and its exchange joins the
        model's memory for later turns."""
        if answer is None:
            answer = ModelAnswer(
                None, load_memory(state.get("llm")), uuid.uuid4().hex[:12], "cooldown"
            )
        self._context_pending(turn, answer.turn_id, channel)
        if answer.text is not None:
            turn.replies.append(Reply(answer.text))
            return {"llm": answer.memory}
        new_state = local(turn, {k: v for k, v in state.items() if k != "llm"})
        said = "\n".join(OutboundMessage("", "", r.text, r.options).as_text() for r in turn.replies)
        remember(
            answer.memory,
            turn,
            said,
            name=patient_name(turn.vault, turn.patient),
            phone=turn.vault.decrypt(turn.patient.phone_enc),
        )
        logfiles.write(
            "orchestration",
            "served_locally",
            turn=answer.turn_id,
            reason=answer.reason,
            engine=self.status,
        )
        return {**new_state, "llm": answer.memory}

    def _converse(
        self,
        turn: Turn,
        memory: dict[str, Any],
        runner: ToolRunner,
        pipeline: Pipeline,
        *,
        name: str | None,
        phone: str | None,
    ) -> str:
        """The tool loop; the model's final text, or BadResponse / ModelCallFailed."""
        messages = conversation(memory, turn.text, name=name, phone=phone)
        request = self._request(turn, memory, messages)
        while len(messages) > 1 and estimate_tokens(request) > REQUEST_TOKEN_BUDGET:
            del messages[:2]  # the oldest exchange goes first
            request = self._request(turn, memory, messages)

        for round_ in range(self.max_rounds + 1):
            response = orchestrated_llm_call(
                self.client, request, pipeline=pipeline, retry=self.retry, round_=round_
            )
            try:
                stop, blocks = parse_response(response)
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
                messages.append({"role": "assistant", "content": echo(blocks)})
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

    def _request(
        self, turn: Turn, memory: dict[str, Any], messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "modelId": self.model_id,
            "system": [{"text": system_prompt(self.clinic, turn.now, memory, i18n.current())}],
            "messages": messages,
            "toolConfig": self.tool_config,
            "inferenceConfig": {"maxTokens": MAX_OUTPUT_TOKENS, "temperature": 0.2},
        }

    @staticmethod
    def _bad(pipeline: Pipeline, reason: str) -> BadResponse:
        pipeline.log("bad_response", reason=reason)
        return BadResponse(reason)

    @staticmethod
    def _context_pending(turn: Turn, turn_id: str, channel: str) -> None:
        """Log `context_saved` when the turn's transaction (which saves the state) commits."""
        turn.tools.db.info.setdefault(_PENDING, []).append({"turn": turn_id, "channel": channel})


# --- the log line when the turn's state is saved, or not ---------------------------------------


def _context_saved(session: Session, turns: list[dict[str, Any]]) -> None:
    for fields in turns:
        logfiles.write("orchestration", "context_saved", **fields)


def _context_not_saved(session: Session, turns: list[dict[str, Any]]) -> None:
    for fields in turns:
        logfiles.write("orchestration", "context_not_saved", **fields)


# Saved when the outermost transaction commits (a savepoint released in the turn, as booking's,
# is not that); not saved when it, or the savepoint the turn was pending in, rolls back.
transactions.hold_until_commit(_PENDING, committed=_context_saved, discarded=_context_not_saved)
