"""The conversation engine: one entry point, `handle(InboundMessage) -> list[OutboundMessage]`.

For every channel it does the same things in one transaction: audit the inbound message, run
red-flag triage before anything else, find or create the patient, load the session, let the
dialogue decide, save the session, audit each reply (screening.py, then answering.py). Whatever
goes wrong inside, the person gets a polite sentence with a next step and the operator a log line
with an error id; nothing half-done is committed.

A turn the model on Bedrock answers is the exception: it commits in three phases, so that no
transaction stays open while the model thinks (seconds; on SQLite an open transaction holds the
write lock, and every other patient's turn would wait for it):

1. everything up to the dialogue, as above (receipt claim, inbound audit, SMS policy, triage,
   session load), then commit;
2. the model loop (bot/model/bedrock.py) with no transaction open; each tool call runs in a short one of
   its own, so a booking and its audit commit together and a refused call is still audited;
3. the model's answer, or the local dialogue's when the model has none (the fallback runs here,
   its changes atomic with the rest), the session, the audit of the replies and the receipt's
   answer, in one transaction.

A crash in phase 2 or 3 rolls back that phase's open transaction only: what committed before
stays, and the apology is kept as the receipt's answer.

One person's turns run one after another (bot/turn_order.py), so two texts sent at once cannot
both work from the same session state and overwrite each other's: every transaction of a turn
runs in the turn's `TurnOrder.turn`; with a model, whose turns commit in phases, it holds the
person's lock on PostgreSQL from the turn's start to its end.

Exactly once: a channel that may deliver a message twice (a retried webhook) passes a `Receipt`.
Its claim is the turn's first write and its answer the last, so a local turn is handled once or
not at all (a failed turn rolls its claim back, and a retry runs it), a model turn's claim stays
committed while the model answers, and a repeat gets `AlreadyHandled` before anything else
happens.

The replies become `OutboundMessage`s for the message's channel; over SMS in GSM-7
(bot/patient/segments.py).

A patient's turn that is answered also writes its analytics row (`engine_turns`,
bot/engine/metrics.py) as the last statement of the transaction that keeps its answer (phase 3's
for a model turn).
"""

from __future__ import annotations

import logging
import time as timer
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot import i18n, logfiles
from bot.audit.trail import AuditTrail
from bot.engine import metrics
from bot.engine.answering import SMS, ModelTurn
from bot.engine.screening import Heard, Screening, _one_text
from bot.messages import InboundMessage, OutboundMessage
from bot.patient import dialogue, replies, segments
from bot.patient.consent import SmsPolicy
from bot.receipts import AlreadyHandled, Receipt
from bot.sessions import SessionStore
from bot.staff.chat import StaffChat
from bot.staff.desk import StaffDesk
from bot.tools import Caller, SchedulingTools
from bot.turn_order import Turn, TurnOrder
from bot.understanding.nlu import Vocabulary
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.db import unavailable
from scheduler.reminders import ReminderPolicy

if TYPE_CHECKING:  # bot/model/bedrock.py imports boto3: only when Bedrock is configured (app.py)
    from bot.model.bedrock import BedrockEngine

log = logging.getLogger("scheduler.engine")

# What the engine reads of one message: enough for any real request, bounded for abuse.
MAX_TEXT = 1000


class ConversationEngine(Screening):
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clinic: Clinic,
        vault: Vault,
        audit: AuditTrail,
        store: SessionStore,
        clock: Callable[[], datetime],
        llm: BedrockEngine | None = None,
        reminder_policy: ReminderPolicy = ReminderPolicy(),
    ):
        self.sessions, self.clinic, self.vault = sessions, clinic, vault
        self.audit, self.store, self.clock = audit, store, clock
        self.llm = llm  # the Bedrock engine when configured; the local dialogue otherwise
        self.reminder_policy = reminder_policy
        self.order = TurnOrder(vault)
        self.vocabulary = Vocabulary.from_clinic(clinic)
        self.sms_policy = SmsPolicy(clinic, vault, store)
        # Staff and admins (Slack DMs, the staff console): their own scope, bot/staff/chat.py.
        self.staff = StaffChat(
            StaffDesk(
                sessions=sessions,
                clinic=clinic,
                vault=vault,
                audit=audit,
                clock=clock,
                reminder_policy=reminder_policy,
            ),
            store,
        )

    @property
    def engine_status(self) -> str:
        """Which engine answers: "local", "bedrock", or "local (bedrock failing)"."""
        return self.llm.status if self.llm is not None else "local"

    def handle(
        self, message: InboundMessage, *, receipt: Receipt | None = None
    ) -> list[OutboundMessage]:
        """Answer one message. With a `receipt`, raises `AlreadyHandled` for a repeat."""
        started = timer.perf_counter()
        # English until the turn knows whose it is (`_speak`); the apology below too, then.
        with i18n.speaking(None):
            return self._handle_in_language(message, receipt, started)

    def _handle_in_language(
        self, message: InboundMessage, receipt: Receipt | None, started: float
    ) -> list[OutboundMessage]:
        kept: Receipt | None = None  # a receipt whose claim is committed, unanswered
        try:
            with self.order.turn(self.sessions, message, phases=self.llm is not None) as turn:
                heard = self._hear(message)
                with turn.sessions.begin() as db:
                    turn.hold(db)
                    if receipt is not None and not receipt.claim(db):
                        raise AlreadyHandled(message.message_id)
                    answered = self._handle(db, message, heard)
                    if not isinstance(answered, ModelTurn):
                        out = self._keep(db, message, receipt, answered)
                        self._record(db, message, out, metrics.tracked(db), heard.now, started)
                if isinstance(answered, ModelTurn):
                    kept = receipt
                    out = self._model_turn(turn, message, answered, receipt, started)
        except AlreadyHandled:
            raise
        except Exception as exc:  # whatever fails, the person gets a sentence, never a traceback
            if receipt is not None and kept is None and unavailable(exc):
                raise  # the database is out of reach, nothing committed: the sender retries
            error_id = uuid.uuid4().hex[:12]
            log.exception("turn failed (error id %s, channel %s)", error_id, message.channel)
            out = self._outbound(
                message, [dialogue.Reply(replies.internal_error(self.clinic), kind="error")]
            )
            self._record_failure(message, error_id, kept, out)
        logfiles.write(
            "performance",
            "turn",
            channel=message.channel,
            engine=self.engine_status,
            ms=round((timer.perf_counter() - started) * 1000, 3),
            replies=len(out),
        )
        return out

    def _keep(
        self,
        db: Session,
        message: InboundMessage,
        receipt: Receipt | None,
        replies_: list[dialogue.Reply],
    ) -> list[OutboundMessage]:
        out = self._outbound(message, replies_)
        if receipt is not None:
            receipt.keep(db, out)
        return out

    def _record(
        self,
        db: Session,
        message: InboundMessage,
        out: list[OutboundMessage],
        facts: metrics.TurnFacts | None,
        now: datetime,
        started: float,
    ) -> None:
        """The turn's analytics row, the last statement of its transaction: for a patient's
        turn (`facts`) that said something (bot/engine/metrics.py says which turns count)."""
        if facts is not None and out:
            metrics.record(
                db,
                facts,
                vault=self.vault,
                zone=self.clinic.zone,
                channel=message.channel,
                sender=message.sender,
                now=now,
                started=started,
            )

    def _model_turn(
        self,
        order: Turn,
        message: InboundMessage,
        pending: ModelTurn,
        receipt: Receipt | None,
        started: float,
    ) -> list[OutboundMessage]:
        """Phases 2 and 3 of a turn the model answers (phase 1, everything before the dialogue,
        has committed): the model loop with no transaction open, each tool call in one of its
        own; then the answer, or the local dialogue's when the model has none, with the session,
        the audit of the replies and the receipt's answer, in one transaction."""
        turn = pending.turn
        caller = turn.tools.caller
        assert self.llm is not None  # a ModelTurn is only made when there is a model (_converse)
        answer = self.llm.ask(
            turn,
            pending.state,
            channel=message.channel,
            open_tools=lambda: self._tools(order, caller, turn.now),
        )
        with order.sessions.begin() as db:
            order.hold(db)
            turn.tools = self._scheduling(db, caller, turn.now)
            turn.patient = db.merge(turn.patient, load=False)  # as phase 1 committed it
            new_state = self.llm.settle(
                turn, pending.state, answer, channel=message.channel, local=dialogue.respond
            )
            out = self._after_dialogue(db, message, turn, new_state, pending.had_state)
            if message.channel == SMS:
                out = _one_text(pending.before + out)
            self._audit_replies(db, message, turn.patient.id, turn.now, out)
            kept = self._keep(db, message, receipt, out)
            facts = metrics.TurnFacts(
                engine=metrics.LOCAL if answer.text is None else metrics.BEDROCK,
                fallback=answer.text is None,  # the local dialogue answered in settle
                error=answer.error,
                model_calls=answer.model_calls,
                input_tokens=answer.input_tokens,
                output_tokens=answer.output_tokens,
                changes=[*answer.changes, *turn.tools.changes],
            )
            self._record(db, message, kept, facts, turn.now, started)
            return kept

    @contextmanager
    def _tools(self, order: Turn, caller: Caller, now: datetime) -> Iterator[SchedulingTools]:
        """The scheduling tools for one of the model's tool calls, in a short transaction."""
        with order.sessions.begin() as db:
            yield self._scheduling(db, caller, now)

    @staticmethod
    def _outbound(message: InboundMessage, replies_: list[dialogue.Reply]) -> list[OutboundMessage]:
        if message.channel == SMS:  # GSM-7, so a Spanish accent never costs a UCS-2 text
            return [
                OutboundMessage(
                    message.channel,
                    message.sender,
                    segments.for_sms(r.text),
                    tuple(segments.for_sms(o) for o in r.options),
                    r.kind,
                )
                for r in replies_
            ]
        return [
            OutboundMessage(message.channel, message.sender, r.text, r.options, r.kind)
            for r in replies_
        ]

    def _hear(self, message: InboundMessage) -> Heard:
        """The message's text, time and meaning, worked out before the turn's transaction: on
        SQLite that transaction holds the one write lock from its first statement to its
        commit, so what needs no database comes first."""
        now = self.clock()
        text = " ".join((message.text or "")[:MAX_TEXT].split())
        return Heard(now, text, self._understand(text, now) if message.role == "patient" else None)

    def _record_failure(
        self,
        message: InboundMessage,
        error_id: str,
        receipt: Receipt | None,
        out: list[OutboundMessage],
    ) -> None:
        """Leave a trace of the failed turn, without its text, in a transaction of its own. A
        `receipt` whose claim committed (a model turn that failed after its first phase) keeps
        the apology, so a repeat of the message gets it too instead of silence."""
        try:
            with self.sessions.begin() as db:
                self.audit.record(
                    db,
                    "turn_failed",
                    at=self.clock(),
                    channel=message.channel,
                    message_id=message.message_id,
                    detail={"error_id": error_id},
                )
                if receipt is not None:
                    receipt.keep(db, out)
        except Exception:  # the trace of a failure must not fail the apology
            log.exception("could not audit failed turn (error id %s)", error_id)
