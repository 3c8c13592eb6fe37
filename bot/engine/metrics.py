"""The analytics' record of each patient turn: one row in `engine_turns`, in the turn's transaction.

Which turns: every patient turn the engine answers, that is, one that ends with at least one
reply kept in a transaction that commits: the model's answer and the local dialogue's, and also
what is answered before the dialogue or without it (an emergency, an empty message, STOP and
START, SMS keywords and the consent question, a reminder's C/R/X, MORE): those with engine
"local". Not recorded: staff turns (the Slack desk), a repeat answered from its receipt (its
claim finds the first one's, and `AlreadyHandled` ends it before anything else), a turn that
fails (its transaction rolls back; the apology is audited as `turn_failed`), and a text the SMS
policy silences (an opted-out or rate-limited number: nothing is answered).

The row is written as the turn's last statement, after the receipt keeps its answer, with one
Core INSERT on the session's connection (no ORM object, no flush): a rolled-back turn writes no
row, and a retried webhook answered from its receipt writes no second one.

The columns:

- `engine`: "bedrock" when the model's text (or, after the model broke, the sentences of the
  changes its tools confirmed) is the answer; "local" when the local code answered.
- `fallback`: Bedrock is configured and the local dialogue stood in for it (the model failed,
  answered badly, or was cooling down after a failure); never for what the local code answers
  by design (reminder replies, STOP, emergencies, ...).
- `error`: why the model's answer, this turn, was not used or was repaired: Bedrock's error
  code ("ThrottlingException"), a bad or unusable response's reason ("max_tokens", "empty",
  "unconfirmed_claim"), also when the sentences of its tools' confirmed changes were told
  instead. None when the model was not asked: a cooling-down turn is a fallback without an
  error, so the errors count the model's failures and the fallbacks the turns they cost.
- `latency_ms`: from the engine receiving the message to this INSERT (the commit after it is
  not counted; for a model turn, all three phases); `model_calls`, `input_tokens`,
  `output_tokens`: the turn's `Pipeline` (bot/model/pipeline.py; 0 when the model was not asked).
- `day`: the clinic-local date of `at`, the day the conversation digest names.
- `conversation`: `conversation_digest`, never a phone number or name.
- `outcome`: from the changes the turn's tools made, in order (`SchedulingTools.changes`, the
  model's tool outcomes): the first booking change wins ("booked", "rescheduled", "cancelled"),
  then "handoff" if the turn asked the staff to follow up, else None (a waitlist entry, a
  confirmation, a question answered).
"""

from __future__ import annotations

import hashlib
import time as timer
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from sqlalchemy.orm import Session

from scheduler.crypto import Vault
from scheduler.models import EngineTurn

LOCAL, BEDROCK = "local", "bedrock"
BOOKING_CHANGES = ("booked", "rescheduled", "cancelled")
HANDOFF = "handoff"
MAX_ERROR = 40  # engine_turns.error is a String(40)

_INSERT = EngineTurn.__table__.insert()
_FACTS = "engine_turn"  # the session.info key of the turn's facts (`track`)


@dataclass
class TurnFacts:
    """What the engine learns about a patient turn as it runs, for its row."""

    engine: str = LOCAL
    fallback: bool = False
    error: str | None = None
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # What the turn changed, in order: the local dialogue's `SchedulingTools.changes` (the same
    # list, filled as the tools audit), after the model's tool outcomes in a model turn.
    changes: list[str] = field(default_factory=list)


def track(db: Session) -> TurnFacts:
    """Mark this transaction's turn as a patient's, to be recorded; its facts, to fill in."""
    facts = db.info[_FACTS] = TurnFacts()
    return facts


def tracked(db: Session) -> TurnFacts | None:
    """The facts of this transaction's patient turn (None: a staff turn, not recorded)."""
    return db.info.get(_FACTS)


def conversation_digest(vault: Vault, channel: str, sender: str, day: date) -> str:
    """16 hex characters for one person's turns on one channel on one (clinic-local) day: a
    digest of their blind index (the keyed HMAC the sessions use, never the number itself) and
    the date. Without the key the digest leads to no one, and the next day's is another."""
    index = vault.index(f"{channel}:{sender}")
    return hashlib.sha256(f"{index}:{day.isoformat()}".encode()).hexdigest()[:16]


def outcome(changes: list[str]) -> str | None:
    """The turn's outcome: the first booking change, else a hand-off, else None."""
    for change in changes:
        if change in BOOKING_CHANGES:
            return change
    return HANDOFF if HANDOFF in changes else None


def record(
    db: Session,
    facts: TurnFacts,
    *,
    vault: Vault,
    zone: tzinfo,
    channel: str,
    sender: str,
    now: datetime,
    started: float,
) -> None:
    """Write the turn's row on the session's connection (one INSERT, no flush). `started`: the
    engine's `perf_counter()` when the message came in."""
    day = now.astimezone(zone).date()
    db.connection().execute(
        _INSERT,
        {
            "at": now,
            "day": day,
            "channel": channel,
            "engine": facts.engine,
            "fallback": facts.fallback,
            "error": facts.error[:MAX_ERROR] if facts.error else None,
            "latency_ms": round((timer.perf_counter() - started) * 1000, 3),
            "model_calls": facts.model_calls,
            "input_tokens": facts.input_tokens,
            "output_tokens": facts.output_tokens,
            "conversation": conversation_digest(vault, channel, sender, day),
            "outcome": outcome(facts.changes),
        },
    )
