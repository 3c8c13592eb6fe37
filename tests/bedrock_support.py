"""What the Bedrock tests share: AWS's side of the wire, scripted, with no call leaving the machine.

- `ScriptedModel` puts botocore's `Stubber` on a real bedrock-runtime client: each scripted
  answer is checked against the service model (as AWS would shape it), and every request the
  engine sends is validated by botocore and kept in `requests` for the test to read.
- `FakeBedrock` is a Converse endpoint on 127.0.0.1 (a server thread) for `BEDROCK_ENDPOINT_URL`:
  the app's real client signs each request (SigV4, fake credentials) and parses each answer, and
  the fake can also answer what AWS never would (malformed JSON) or after a delay (benchmarks).
- `tool_use`, `answer` and `failure` build Converse answers; `log_lines` reads a JSON-lines log.
- `THIRTY_TURNS` is a long conversation with tool rounds (input tokens per turn: the test in
  tests/bot/test_orchestration.py and bench/bench_llm.py).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber

from tests.local_server import LocalServer

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
_ids = itertools.count(1)

ERROR_STATUS = {
    "ThrottlingException": 429,
    "ServiceUnavailableException": 503,
    "ModelTimeoutException": 408,
    "InternalServerException": 500,
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ModelErrorException": 424,
    "ResourceNotFoundException": 404,
}


def usage(input_tokens: int = 900, output_tokens: int = 40) -> dict[str, int]:
    return {
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    }


def tool_use(
    *calls: tuple[str, Any], text: str | None = None, tokens: tuple[int, int] = (900, 40)
) -> dict[str, Any]:
    """The model asks for tools: tool_use(("find_slots", {...}), ("list_appointments", {}))."""
    content: list[dict[str, Any]] = [{"text": text}] if text else []
    for name, arguments in calls:
        content.append(
            {"toolUse": {"toolUseId": f"tooluse_{next(_ids)}", "name": name, "input": arguments}}
        )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use",
        "usage": usage(*tokens),
        "metrics": {"latencyMs": 5},
    }


def answer(
    text: str, stop: str = "end_turn", tokens: tuple[int, int] = (900, 40)
) -> dict[str, Any]:
    """The model's final text."""
    content = [{"text": text}] if text else []
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": usage(*tokens),
        "metrics": {"latencyMs": 5},
    }


def failure(code: str, message: str = "scripted failure") -> tuple[str, str, int]:
    return code, message, ERROR_STATUS.get(code, 500)


class Issued:
    """The ids the tools gave the model so far in a conversation, read from the requests sent
    (each request's last message carries the newest tool results)."""

    def __init__(self, requests: list[dict[str, Any]]) -> None:
        self.slots: list[str] = []
        self.appointment: str | None = None
        for request in requests:
            for block in request["messages"][-1]["content"]:
                result = block.get("toolResult", {}).get("content", [{}])[0].get("json", {})
                if result.get("slots"):
                    self.slots = [slot["slot_id"] for slot in result["slots"]]
                listed = result.get("appointments") or [result]
                self.appointment = listed[-1].get("appointment_id", self.appointment)


def _booking_round(day: date) -> list[tuple[str, Callable[[Issued], list[dict[str, Any]]]]]:
    """Ten texts around one visit: find, book, ask, list, move, cancel, waitlist."""
    when, next_day = f"{day:%a %b} {day.day}", day + timedelta(days=1)
    return [
        (
            f"Hi, can I book a checkup on {day:%A} morning?",
            lambda ids: [
                tool_use(
                    (
                        "find_slots",
                        {
                            "appointment_type": "checkup",
                            "date": day.isoformat(),
                            "part_of_day": "morning",
                        },
                    )
                ),
                answer(
                    f"On {when} I have 8:00, 8:15 or 8:30 AM with Dr. Amara Okafor. Which one "
                    "suits you?"
                ),
            ],
        ),
        (
            "Anything after lunch instead?",
            lambda ids: [
                tool_use(
                    (
                        "find_slots",
                        {
                            "appointment_type": "checkup",
                            "date": day.isoformat(),
                            "part_of_day": "afternoon",
                        },
                    )
                ),
                answer("That afternoon I have 1:00, 1:15 or 1:30 PM. Which one?"),
            ],
        ),
        (
            "1:15 please",
            lambda ids: [
                tool_use(("book_appointment", {"slot_id": ids.slots[1]})),
                answer(f"You're booked for a check-up on {when} at 1:15 PM. See you then!"),
            ],
        ),
        (
            "Great, thanks. Do I need to bring anything?",
            lambda ids: [
                answer("Please bring your insurance card and a photo ID. Anything else I can do?")
            ],
        ),
        (
            "What appointments do I have now?",
            lambda ids: [
                tool_use(("list_appointments", {})),
                answer(f"You have a check-up on {when} at 1:15 PM with Dr. Amara Okafor."),
            ],
        ),
        (
            "Can you move it to the next day, same time?",
            lambda ids: [
                tool_use(
                    (
                        "find_slots",
                        {
                            "appointment_type": "checkup",
                            "date": next_day.isoformat(),
                            "time": "13:15",
                        },
                    )
                ),
                answer("The next day I have 1:15, 1:30 or 1:45 PM. Which one?"),
            ],
        ),
        (
            "The first one",
            lambda ids: [
                tool_use(
                    (
                        "reschedule_appointment",
                        {"appointment_id": ids.appointment, "slot_id": ids.slots[0]},
                    )
                ),
                answer("Done: your check-up is moved to 1:15 PM the next day."),
            ],
        ),
        (
            "Actually please cancel it, I will call later",
            lambda ids: [
                answer("Just to confirm: cancel your check-up at 1:15 PM? Reply YES to cancel.")
            ],
        ),
        (
            "yes",
            lambda ids: [
                tool_use(("cancel_appointment", {"appointment_id": ids.appointment})),
                answer("Your check-up has been cancelled."),
            ],
        ),
        (
            "Put me on the waitlist for a heart echo if anything opens earlier",
            lambda ids: [
                tool_use(("join_waitlist", {"appointment_type": "cardiac-echo"})),
                answer("You're on the echo waitlist; we'll text you if an earlier time opens."),
            ],
        ),
    ]


# A 30-turn conversation with the demo clinic on Wednesday 2026-03-04, as a model with tools
# has it: 24 turns with a tool round, 6 answered at once. Each turn: the patient's text, and
# the model's answers given the ids issued so far (`Issued`).
THIRTY_TURNS = [
    turn
    for day in (date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11))
    for turn in _booking_round(day)
]


class ScriptedModel:
    """A real bedrock-runtime client whose answers come from a script, in order."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        self.stubber = Stubber(self.client)
        self.requests: list[dict[str, Any]] = []
        self.client.meta.events.register(
            "provide-client-params.bedrock-runtime.Converse", self._keep
        )
        self.stubber.activate()

    def _keep(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(json.loads(json.dumps(params)))

    def script(self, *steps: Any) -> ScriptedModel:
        """Each step: a Converse answer (a dict), or a failure(code) tuple."""
        for step in steps:
            if isinstance(step, tuple):
                code, message, status = step
                self.stubber.add_client_error(
                    "converse",
                    service_error_code=code,
                    service_message=message,
                    http_status_code=status,
                )
            else:
                self.stubber.add_response("converse", step)
        return self

    def done(self) -> None:
        """Every scripted answer was asked for."""
        self.stubber.assert_no_pending_responses()

    @property
    def calls(self) -> int:
        return len(self.requests)


class FakeBedrock:
    """Bedrock Runtime's Converse on 127.0.0.1. `script` what it answers; `requests` what came."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        # Ordering, not timing: `gate` (a Barrier) holds each request until that many are in
        # flight together; `hold` (an Event) holds each until the test sets it. Either gives up
        # after `HOLD_SECONDS`, so a test whose requests never overlap fails instead of hanging.
        self.gate: threading.Barrier | None = None
        self.hold: threading.Event | None = None
        self.in_flight = self.most_in_flight = 0
        self._script: list[Any] = []
        self._lock = threading.Lock()
        fake = self

        def answer(path: str, headers, body: bytes):
            with fake._lock:
                fake.requests.append(
                    {"path": path, "headers": dict(headers), "body": json.loads(body or b"{}")}
                )
                step = (
                    fake._script.pop(0)
                    if fake._script
                    else failure("ValidationException", "nothing scripted")
                )
                fake.in_flight += 1
                fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
            try:
                fake._wait()
            finally:
                with fake._lock:
                    fake.in_flight -= 1
            extra: dict[str, str] = {}
            if isinstance(step, bytes):
                status, payload = 200, step
            elif isinstance(step, tuple):
                code, message, status = step
                payload = json.dumps({"message": message}).encode()
                extra = {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"}
            else:
                status, payload = 200, json.dumps(step).encode()
            return (
                status,
                payload,
                {
                    "Content-Type": "application/json",
                    "x-amzn-RequestId": f"req-{next(_ids)}",
                    **extra,
                },
            )

        self._server = LocalServer(answer)
        self.url = self._server.url

    HOLD_SECONDS = 10.0

    def _wait(self) -> None:
        if self.gate is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.gate.wait(self.HOLD_SECONDS)
        if self.hold is not None:
            self.hold.wait(self.HOLD_SECONDS)
        if self.delay:
            time.sleep(self.delay)

    def script(self, *steps: Any) -> FakeBedrock:
        """Each step: a Converse answer (a dict), failure(code), or raw bytes for the body."""
        with self._lock:
            self._script.extend(steps)
        return self

    @property
    def pending(self) -> int:
        return len(self._script)

    def close(self) -> None:
        self._server.close()


def log_lines(log_dir: Path, name: str) -> list[dict[str, Any]]:
    path = Path(log_dir) / f"{name}.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
