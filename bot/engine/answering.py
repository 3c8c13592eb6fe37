"""The engine's answer to a patient's message, once the checks before the dialogue let it through.

`Answering._converse` decides who answers: a bare MORE gets the next page of the last long
answer; STOP and START, a message in a language the clinic does not serve and a request to switch
language are answered at once; then, with the session loaded and the patient's `Caller` and
`SchedulingTools` bound, a reply to a reminder or a waitlist offer
(bot/patient/reminder_replies.py), else the model (a `ModelTurn`, answered after the transaction
commits: conversation.py), else the local dialogue (at once when the model failed a moment ago).
`_after_dialogue` saves or ends the session and, over SMS, cuts a long answer into pages of at
most two segments with "Reply MORE" (bot/patient/segments.py), keeping the rest beside the
dialogue's own state.

`Answering` is the lowest of the engine's three parts: screening.py's `Screening` extends it and
conversation.py's `ConversationEngine`, which sets the attributes declared here, extends that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.audit.trail import AuditTrail
from bot.engine import metrics
from bot.messages import InboundMessage, numbered
from bot.patient import dialogue, reminder_replies, replies, segments
from bot.sessions import SessionStore
from bot.tools import Caller, SchedulingTools
from bot.understanding import language, triage
from bot.understanding.nlu import Understanding, Vocabulary, understand
from scheduler import urgency
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.reminders import ReminderPolicy

if TYPE_CHECKING:  # bot/model/bedrock.py imports boto3: only when Bedrock is configured (app.py)
    from bot.model.bedrock import BedrockEngine

SMS = "sms"
URGENCY = "urgency"  # the session state's key for the level triage heard (scheduler/urgency.py)


@dataclass
class ModelTurn:
    """A turn the model answers, between the transaction that read it and the one that saves
    its answer: the turn (its patient and tools are bound again in the second), the session
    state as loaded, and, over SMS, the replies of the SMS policy that go first."""

    turn: dialogue.Turn
    state: dict
    had_state: bool
    before: list[dialogue.Reply] = field(default_factory=list)


class Answering:
    """The dialogue's part of a turn (set up by `ConversationEngine.__init__`)."""

    clinic: Clinic
    vault: Vault
    audit: AuditTrail
    store: SessionStore
    llm: BedrockEngine | None
    reminder_policy: ReminderPolicy
    vocabulary: Vocabulary

    def _scheduling(self, db: Session, caller: Caller, now: datetime) -> SchedulingTools:
        return SchedulingTools(
            db, self.clinic, self.audit, caller, now, policy=self.reminder_policy
        )

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
        transaction commits: see conversation.py `_model_turn`)."""
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
        # A symptom heard in this conversation ranks a waitlist entry and opens urgent capacity
        # (bot/tools.py); the highest level heard is kept with the conversation's state for as
        # long as that lasts (an emergency never gets here: screening.py answered it).
        heard = urgency.higher(triage.urgency(text), state.pop(URGENCY, None))
        caller = Caller(
            role="patient", channel=message.channel, patient_id=patient.id, urgency=heard
        )
        tools = self._scheduling(db, caller, now)
        facts = metrics.tracked(db)
        if facts is not None:  # what the tools change is the turn's outcome (metrics.py)
            facts.changes = tools.changes
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
            if facts is not None:  # standing in for the model, which was not asked: no error
                facts.fallback = True
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
        if turn.tools.caller.urgency:
            new_state = {**new_state, URGENCY: turn.tools.caller.urgency}
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
