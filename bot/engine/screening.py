"""What the engine does with a message before the dialogue: whose it is, and the checks first.

A staff member's message goes to the staff desk (bot/staff/chat.py). A patient's is found or
creates the patient, sets the turn's language, and is audited (`message_in`, its text encrypted);
then, for every channel, the checks before any dialogue (`_before_dialogue`): red-flag triage
first (an emergency gets the emergency answer, recorded, and the conversation ends), then a
message with no text. Each reply is audited as `message_out`.

On the "sms" channel the SMS policy comes first (bot/patient/consent.py: keywords, opt-out, rate
limit, consent first), and the answer is one text per turn (`_one_text`). An emergency from a
number that opted out is not answered but still goes to the staff; an empty answer is silence
(an opted-out or rate-limited number), audited as `message_suppressed`.

`Screening` extends answering.py's `Answering` (the dialogue it hands over to) and is extended by
conversation.py's `ConversationEngine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import i18n
from bot.engine import metrics
from bot.engine.answering import SMS, Answering, ModelTurn
from bot.messages import DEMO_CHANNELS, InboundMessage, numbered
from bot.patient import dialogue, replies
from bot.patient.consent import SmsPolicy
from bot.staff.chat import StaffChat
from bot.understanding import language, triage
from bot.understanding.nlu import Understanding
from scheduler.patients import find_or_create_patient


@dataclass(frozen=True)
class Heard:
    """A message as the engine reads it: `text` cleaned and bounded, the turn's `now`, and
    what the local understanding makes of it (patients' messages only)."""

    now: datetime
    text: str
    understanding: Understanding | None


class Screening(Answering):
    """A turn up to the dialogue (set up by `ConversationEngine.__init__`)."""

    sms_policy: SmsPolicy
    staff: StaffChat

    def _handle(
        self, db: Session, message: InboundMessage, heard: Heard
    ) -> list[dialogue.Reply] | ModelTurn:
        now, text = heard.now, heard.text
        if message.role != "patient":
            # The adapter vouched for the role (Slack: the staff_users table); never a patient's.
            return self.staff.respond(db, message, text, now)
        metrics.track(db)  # a patient's turn: its analytics row (conversation.py `_record`)
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


def _one_text(out: list[dialogue.Reply]) -> list[dialogue.Reply]:
    """Over SMS a turn answers in one text: several replies joined, options as numbered lines."""
    if len(out) <= 1:
        return out
    kind = next((r.kind for r in out if r.kind != "reply"), "reply")
    return [dialogue.Reply("\n".join(numbered(r.text, r.options) for r in out), kind=kind)]
