"""The conversation engine: one entry point, `handle(InboundMessage) -> list[OutboundMessage]`.

For every channel it does the same things in one transaction: audit the inbound message, run
red-flag triage before anything else, find or create the patient, load the session, let the
dialogue decide, save the session, audit each reply. Whatever goes wrong inside, the person gets a
polite sentence with a next step and the operator a log line with an error id; nothing half-done
is committed.

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
both work from the same session state and overwrite each other's.

Exactly once: a channel that may deliver a message twice (a retried webhook) passes a `Receipt`.
Its claim is the turn's first write and its answer the last, so a local turn is handled once or
not at all (a failed turn rolls its claim back, and a retry runs it), a model turn's claim stays
committed while the model answers, and a repeat gets `AlreadyHandled` before anything else
happens.

On the "sms" channel it also applies the SMS policy (bot/patient/consent.py: keywords, opt-out, rate
limit, consent first) and shapes the answer for a phone: one text per turn, cut into pages of at
most two segments with "Reply MORE" when a list is longer (bot/patient/segments.py). An empty answer is
silence (an opted-out or rate-limited number), audited as `message_suppressed`.
"""

from __future__ import annotations

import logging
import time as timer
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot import i18n, logfiles
from bot.audit import AuditTrail
from bot.messages import DEMO_CHANNELS, InboundMessage, OutboundMessage, numbered
from bot.patient import dialogue, reminder_replies, replies, segments
from bot.patient.consent import SmsPolicy
from bot.receipts import AlreadyHandled, Receipt
from bot.sessions import SessionStore
from bot.staff.chat import StaffChat
from bot.staff.desk import StaffDesk
from bot.tools import Caller, SchedulingTools
from bot.turn_order import TurnOrder
from bot.understanding import language, triage
from bot.understanding.nlu import Understanding, Vocabulary, understand
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.patients import find_or_create_patient
from scheduler.reminders import ReminderPolicy

if TYPE_CHECKING:  # bot/model/bedrock.py imports boto3: only when Bedrock is configured (app.py)
    from bot.model.bedrock import BedrockEngine

log = logging.getLogger("scheduler.engine")

# What the engine reads of one message: enough for any real request, bounded for abuse.
MAX_TEXT = 1000
SMS = "sms"
URGENT_CARE = (
    "urgent_care"  # the session state's key for what triage heard (bot/understanding/triage.py)
)


@dataclass(frozen=True)
class Heard:
    """A message as the engine reads it: `text` cleaned and bounded, the turn's `now`, and
    what the local understanding makes of it (patients' messages only)."""

    now: datetime
    text: str
    understanding: Understanding | None


@dataclass
class ModelTurn:
    """A turn the model answers, between the transaction that read it and the one that saves
    its answer: the turn (its patient and tools are bound again in the second), the session
    state as loaded, and, over SMS, the replies of the SMS policy that go first."""

    turn: dialogue.Turn
    state: dict
    had_state: bool
    before: list[dialogue.Reply] = field(default_factory=list)


class ConversationEngine:
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
            with self.order.lock(message):
                heard = self._hear(message)
                with self.sessions.begin() as db:
                    self.order.hold(db, message)
                    if receipt is not None and not receipt.claim(db):
                        raise AlreadyHandled(message.message_id)
                    answered = self._handle(db, message, heard)
                    if not isinstance(answered, ModelTurn):
                        out = self._keep(db, message, receipt, answered)
                if isinstance(answered, ModelTurn):
                    kept = receipt
                    out = self._model_turn(message, answered, receipt)
        except AlreadyHandled:
            raise
        except Exception:  # whatever fails, the person gets a sentence, never a traceback
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

    def _model_turn(
        self, message: InboundMessage, pending: ModelTurn, receipt: Receipt | None
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
            open_tools=lambda: self._tools(caller, turn.now),
        )
        with self.sessions.begin() as db:
            self.order.hold(db, message)
            turn.tools = self._scheduling(db, caller, turn.now)
            turn.patient = db.merge(turn.patient, load=False)  # as phase 1 committed it
            new_state = self.llm.settle(
                turn, pending.state, answer, channel=message.channel, local=dialogue.respond
            )
            out = self._after_dialogue(db, message, turn, new_state, pending.had_state)
            if message.channel == SMS:
                out = _one_text(pending.before + out)
            self._audit_replies(db, message, turn.patient.id, turn.now, out)
            return self._keep(db, message, receipt, out)

    @contextmanager
    def _tools(self, caller: Caller, now: datetime) -> Iterator[SchedulingTools]:
        """The scheduling tools for one of the model's tool calls, in a short transaction."""
        with self.sessions.begin() as db:
            yield self._scheduling(db, caller, now)

    def _scheduling(self, db: Session, caller: Caller, now: datetime) -> SchedulingTools:
        return SchedulingTools(
            db, self.clinic, self.audit, caller, now, policy=self.reminder_policy
        )

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

    def _handle(
        self, db: Session, message: InboundMessage, heard: Heard
    ) -> list[dialogue.Reply] | ModelTurn:
        now, text = heard.now, heard.text
        if message.role != "patient":
            # The adapter vouched for the role (Slack: the staff_users table); never a patient's.
            return self.staff.respond(db, message, text, now)
        patient = find_or_create_patient(
            db,
            self.vault,
            message.sender,
            now=now,
            scope=message.channel if message.channel in DEMO_CHANNELS else None,
        )
        self._speak(patient, text)
        self.audit.record(
            db,
            "message_in",
            at=now,
            channel=message.channel,
            actor=f"patient:{patient.id}",
            patient_id=patient.id,
            message_id=message.message_id,
            detail={"chars": len(message.text or "")},
            text_=text,
        )

        if message.channel == SMS:
            assert heard.understanding is not None  # _hear reads every patient's message
            out = self._sms_turn(db, message, text, patient, now, heard.understanding)
        else:
            out = self._before_dialogue(db, message, text, patient, now) or self._converse(
                db, message, text, patient, now, understanding=heard.understanding
            )
        if not isinstance(out, ModelTurn):
            self._audit_replies(db, message, patient.id, now, out)
        return out

    @staticmethod
    def _speak(patient, text: str) -> None:
        """The turn's language: the one the message is in, or asks for ("en español"), else
        the conversation's (`patient.language`: "sí" or "2" tell nothing). A message in a
        language the clinic does not serve is answered in the closest one it does. Kept on the
        patient, for this and for every text the clinic sends them first."""
        asked = language.switch(text)
        told = language.tell(text, first=patient.language is None)
        chosen = asked or language.CLOSEST.get(told or "", told) or patient.language
        if chosen is not None and chosen != patient.language:
            patient.language = chosen
        i18n.use(chosen)

    def _audit_replies(
        self,
        db: Session,
        message: InboundMessage,
        patient_id: int,
        now: datetime,
        out: list[dialogue.Reply],
    ) -> None:
        for reply in out:
            self.audit.record(
                db,
                "message_out",
                at=now,
                channel=message.channel,
                actor="bot",
                patient_id=patient_id,
                message_id=message.message_id,
                detail={"kind": reply.kind},
                text_=reply.text,
            )

    def _emergency(
        self,
        db: Session,
        message: InboundMessage,
        text: str,
        patient,
        now: datetime,
        *,
        answer: bool = True,
    ) -> list[dialogue.Reply] | None:
        """The emergency answer when the message describes one (recorded, the conversation
        ended), else None. With `answer` false (a number that opted out of texts) nothing is
        said to the patient; the audit event says so, and the staff notice asks for a call."""
        flag = triage.red_flag(text)
        if flag is None:
            return None
        detail: dict[str, object] = {"category": flag}
        if not answer:
            detail["answered"] = False
        self.audit.record(
            db,
            "red_flag",
            at=now,
            channel=message.channel,
            actor=f"patient:{patient.id}",
            patient_id=patient.id,
            message_id=message.message_id,
            detail=detail,
        )
        self.store.end(db, message.channel, message.sender)
        return [dialogue.Reply(replies.emergency(self.clinic, flag), kind="emergency")]

    def _before_dialogue(
        self, db: Session, message: InboundMessage, text: str, patient, now: datetime
    ) -> list[dialogue.Reply] | None:
        """What every channel answers before the dialogue (over SMS, once the policy let the
        text through, before consent): an emergency at once; a message with no text."""
        urgent = self._emergency(db, message, text, patient, now)
        if urgent is not None:
            return urgent
        if not text:
            return [
                dialogue.Reply(replies.media_only() if message.media else replies.empty_message())
            ]
        return None

    def _sms_turn(
        self,
        db: Session,
        message: InboundMessage,
        text: str,
        patient,
        now: datetime,
        understanding: Understanding,
    ) -> list[dialogue.Reply] | ModelTurn:
        """Policy first (keywords, opt-out, rate limit), then triage, consent, the dialogue;
        the answer comes back as one text of at most two segments, or nothing."""
        verdict = self.sms_policy.screen(
            db, message, text, patient, now, intent=understanding.intent
        )
        if verdict is not None and verdict.reason == "opted_out":
            # Carriers block texts to a number that opted out, and the law says not to send
            # them: an emergency it describes goes to the staff, urgently, to call them.
            self._emergency(db, message, text, patient, now, answer=False)
        if verdict is None:
            answered = self._before_dialogue(db, message, text, patient, now)
            if answered:
                return answered
            verdict = self.sms_policy.require_consent(db, message, text, patient, now)
        out = verdict.replies
        if verdict.proceed:
            if verdict.text != text:
                understanding = self._understand(verdict.text, now)
            conversed = self._converse(
                db, message, verdict.text, patient, now, understanding=understanding
            )
            if isinstance(conversed, ModelTurn):
                conversed.before = out
                return conversed
            out = out + conversed
        elif not out:
            self.audit.record(
                db,
                "message_suppressed",
                at=now,
                channel=message.channel,
                actor=f"patient:{patient.id}",
                patient_id=patient.id,
                message_id=message.message_id,
                detail={"reason": verdict.reason},
            )
        return _one_text(out)

    def _understand(self, text: str, now: datetime) -> Understanding:
        return understand(text, now.astimezone(self.clinic.zone), self.vocabulary)

    def _converse(
        self,
        db: Session,
        message: InboundMessage,
        text: str,
        patient,
        now: datetime,
        *,
        understanding: Understanding | None = None,
    ) -> list[dialogue.Reply] | ModelTurn:
        """The dialogue's answer, or a `ModelTurn` when the model is to answer (after this
        transaction commits: see `_model_turn`)."""
        if message.channel == SMS and segments.bare_more(text):
            state = self.store.load(db, message.channel, message.sender, now=now)
            if state.get("more"):
                return self._page(db, message, state, state["more"], now)
        understanding = understanding or self._understand(text, now)
        if understanding.intent == "stop":
            patient.opted_out_at = now
            self.store.end(db, message.channel, message.sender)
            return [dialogue.Reply(replies.opted_out(self.clinic))]
        if understanding.intent == "start":
            patient.opted_out_at = None
            return [dialogue.Reply(replies.opted_in(self.clinic))]
        if language.tell(text) in language.CLOSEST:
            # Portuguese, Italian, French: read as Spanish, they could be misread; nothing is
            # acted on, and what was under way stays.
            return [dialogue.Reply(replies.other_language(self.clinic))]
        if language.switch(text) and understanding.intent in ("unknown", "greeting", "help"):
            return [dialogue.Reply(replies.language_switched())]  # what was under way stays

        state = self.store.load(db, message.channel, message.sender, now=now)
        had_state = bool(state)
        state.pop("more", None)  # a new message, not MORE: the rest of the last list is dropped
        # An urgent symptom heard in this conversation ranks a waitlist entry (bot/tools.py);
        # it is kept with the conversation's state for as long as that lasts.
        caller = Caller(
            role="patient",
            channel=message.channel,
            patient_id=patient.id,
            urgent_care=triage.urgent_care(text) or state.pop(URGENT_CARE, None),
        )
        tools = self._scheduling(db, caller, now)
        turn = dialogue.Turn(
            text=text,
            understanding=understanding,
            patient=patient,
            tools=tools,
            clinic=self.clinic,
            vault=self.vault,
            now=now,
        )
        # A bare C/R/X after a reminder, or YES/NO to a waitlist offer (bot/patient/reminder_replies.py).
        answered = reminder_replies.respond(turn, state)
        if answered is not None:
            new_state = answered
        elif self.llm is not None and not self.llm.cooling_down:
            return ModelTurn(turn, state, had_state)
        elif self.llm is not None:  # Bedrock failed a moment ago: the local dialogue, at once
            new_state = self.llm.settle(
                turn, state, None, channel=message.channel, local=dialogue.respond
            )
        else:
            new_state = dialogue.respond(turn, state)
        return self._after_dialogue(db, message, turn, new_state, had_state)

    def _after_dialogue(
        self,
        db: Session,
        message: InboundMessage,
        turn: dialogue.Turn,
        new_state: dict,
        had_state: bool,
    ) -> list[dialogue.Reply]:
        """Save (or end) the session; over SMS, a long answer is paged ("Reply MORE")."""
        if turn.tools.caller.urgent_care:
            new_state = {**new_state, URGENT_CARE: turn.tools.caller.urgent_care}
        if message.channel == SMS:
            text_ = "\n".join(numbered(r.text, r.options) for r in turn.replies)
            if len(text_) > segments.MAX_CHARS:
                kind = next((r.kind for r in turn.replies if r.kind != "reply"), "reply")
                pages = segments.paginate(text_, suffix=replies.more_suffix())
                return self._page(db, message, new_state, pages, turn.now, kind=kind)
        if new_state:
            self.store.save(db, message.channel, message.sender, new_state, now=turn.now)
        elif had_state:
            self.store.end(db, message.channel, message.sender)
        return turn.replies

    def _page(
        self,
        db: Session,
        message: InboundMessage,
        state: dict,
        pages: list[str],
        now: datetime,
        kind: str = "reply",
    ) -> list[dialogue.Reply]:
        """Say the first page; keep the rest for MORE, beside the dialogue's own state."""
        first, rest = pages[0], pages[1:]
        state = {k: v for k, v in state.items() if k != "more"}
        if rest:
            state["more"] = rest
        if state:
            self.store.save(db, message.channel, message.sender, state, now=now)
        else:
            self.store.end(db, message.channel, message.sender)
        return [dialogue.Reply(first, kind=kind)]

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


def _one_text(out: list[dialogue.Reply]) -> list[dialogue.Reply]:
    """Over SMS a turn answers in one text: several replies joined, options as numbered lines."""
    if len(out) <= 1:
        return out
    kind = next((r.kind for r in out if r.kind != "reply"), "reply")
    return [dialogue.Reply("\n".join(numbered(r.text, r.options) for r in out), kind=kind)]
