"""The analytics' rows of the patients' turns (`engine_turns`, scheduler/models/operations.py
`EngineTurn`, filled as bot/engine/metrics.py fills them): metrics, not bookings, so they are
written directly, one INSERT per simulated day.

The clinic ran the local engine first and Bedrock from `Run.bedrock_from` on. From then on the
model answers the dialogue's turns; now and then it fails (throttled, timed out, a bad answer)
and the local dialogue stands in (a fallback with the error), then for the rest of that
conversation while the model cools down (a fallback without an error). What the local code
answers by design (a reminder's C/R/X, a YES to an offer) is "local" and never a fallback.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.engine.metrics import conversation_digest
from scheduler.models import EngineTurn

from .rates import ANSWERED_ERRORS, MODEL_ERRORS, MODEL_FAILURE
from .run import Person, Run, weighted


def on_chat(run: Run, db: Session, at: datetime) -> None:
    """A conversation that books nothing: a question answered, or one for the desk."""
    channel = "web" if run.rng.random() < 0.3 else "sms"
    person = run.someone(channel)
    outcome = "handoff" if run.rng.random() < 0.3 else None
    conversation(run, person, at, run.rng.randint(1, 4), outcome)


def conversation(
    run: Run,
    person: Person,
    at: datetime,
    turns: int,
    outcome: str | None,
    *,
    local: bool = False,
    channel: str | None = None,
) -> None:
    """`turns` patient turns ending at `at` (the last one with the outcome), on the person's
    channel unless another is given. `local`: answered by the local code by design."""
    rng = run.rng
    channel = channel or person.channel
    day = run.local(at).date()
    bedrock = not local and day >= run.bedrock_from
    moments = [at]
    for _ in range(turns - 1):
        moments.append(moments[-1] - timedelta(seconds=rng.uniform(15, 90)))
    moments.reverse()
    digest = conversation_digest(run.vault, channel, person.phone, day)
    cooling = False
    for n, moment in enumerate(moments):
        row: dict[str, Any] = {
            "at": moment,
            "day": run.local(moment).date(),
            "channel": channel,
            "engine": "local",
            "fallback": False,
            "error": None,
            "latency_ms": round(rng.lognormvariate(math.log(38), 0.5), 3),
            "model_calls": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "conversation": digest,
            "outcome": outcome if n == len(moments) - 1 else None,
        }
        if bedrock and cooling:
            row["fallback"] = True  # the model was not asked: no error
        elif bedrock and rng.random() < MODEL_FAILURE:
            cooling = True
            row.update(_failed(run, n))
        elif bedrock:
            row.update(_answered(run, n, row["outcome"] is not None))
        run.summary.engines[row["engine"]] += 1
        run.summary.counts["fallbacks"] += row["fallback"]
        run.turns.append(row)


def _tokens(run: Run, n: int, calls: int) -> dict[str, int]:
    """The prompt grows with the conversation (the n-th turn of it)."""
    rng = run.rng
    return {
        "input_tokens": sum(1500 + 320 * n + rng.randint(0, 400) for _ in range(calls)),
        "output_tokens": sum(rng.randint(40, 180) for _ in range(calls)),
    }


def _answered(run: Run, n: int, changed: bool) -> dict[str, Any]:
    """The model's answer: a call, and a second when a tool ran (a booking always)."""
    calls = 2 if changed or run.rng.random() < 0.3 else 1
    latency = run.rng.lognormvariate(math.log(1200) + 0.45 * (calls - 1), 0.35)
    return {
        "engine": "bedrock",
        "model_calls": calls,
        "latency_ms": round(latency, 3),
        **_tokens(run, n, calls),
    }


def _failed(run: Run, n: int) -> dict[str, Any]:
    """The model failed this turn: the local dialogue answered, after the wait."""
    error = weighted(run.rng, MODEL_ERRORS)
    found: dict[str, Any] = {
        "fallback": True,
        "error": error,
        "model_calls": 1,
        "latency_ms": round(run.rng.lognormvariate(math.log(2400), 0.4), 3),
    }
    if error in ANSWERED_ERRORS:  # it answered, unusably: the tokens were spent
        found |= _tokens(run, n, 1)
    return found


def write_turns(run: Run, db: Session) -> None:
    """The day's rows, in one INSERT on the session's connection."""
    if run.turns:
        db.connection().execute(insert(EngineTurn.__table__), run.turns)
        run.turns = []
