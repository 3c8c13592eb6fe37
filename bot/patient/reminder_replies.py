"""Answers to what the clinic texted by itself: C, R or X to a reminder, YES or NO to an offer.

A bare "C", "R" or "X" (any case, punctuation ignored) means something only right after a reminder:
it answers the last reminder sent to the patient in the last 48 hours, if that appointment is still
upcoming (scheduler/reminders.py `last_reminded`). "C" (or a yes in words: "Yes", "ok see you then",
"I'll be there", as the first message since the reminder, when no waitlist offer and no question
waits) confirms it (`Appointment.confirmed_at`), "R" starts the dialogue's reschedule flow for it,
"X" asks "Reply X again to confirm" and the second X (or YES) cancels it. In Spanish also
"CONFIRMAR", "CAMBIAR" and "CANCELAR" (and SI for yes), while a reminder waits for its answer. Every change goes through
`SchedulingTools`, so it is checked and audited like any other. Without such a reminder the letters
go on to the dialogue as usual. None of them is an SMS keyword (bot/patient/consent.py).

What the patient answered is kept on the appointment for the analytics
(`Appointment.reminder_answer`, the last answer counts): "C" when they confirm (by letter or in
words), "R" when they ask to move it (the reschedule flow starts; it need not end in a move), "X"
only once the second X (or YES) has cancelled it.

A bare YES or NO with no dialogue step waiting for it answers the patient's latest waitlist
offer (scheduler/waitlist.py): YES books the slot through the normal, occupancy-protected path,
so of several YESes at the same moment exactly one gets it; the others are told it was taken and
keep their place.
"""

from __future__ import annotations

from typing import Any

from bot.patient import dialogue, replies
from bot.patient.consent import bare_word
from scheduler import reminders, waitlist
from scheduler.availability import Slot
from scheduler.errors import SchedulingError
from scheduler.models import Appointment, WaitlistEntry

REMINDER_ANSWERS = {"C", "R", "X"}
# The same answers in Spanish words, as the Spanish reminder spells them out.
REMINDER_WORDS = {"CONFIRMAR": "C", "CONFIRMO": "C", "CAMBIAR": "R", "CANCELAR": "X"}
YES = {"YES", "Y", "SI", "SÍ"}
NO = {"NO", "N"}


def respond(turn: dialogue.Turn, state: dict[str, Any]) -> dict[str, Any] | None:
    """Handle the turn and return the next state, or None to let the dialogue answer it."""
    word = bare_word(turn.text)
    if word in REMINDER_WORDS and _reminded(turn):
        word = REMINDER_WORDS[word]
    step = state.get("step")
    if step == "reminder_cancel":
        if word in ({"X"} | YES):
            return _cancel(turn, state)
        state.clear()  # anything else keeps the appointment; the message is read afresh
        step = None
        if word in NO:
            turn.say(replies.kept())
            return {}
    if word in REMINDER_ANSWERS:
        return _answer_reminder(turn, word)
    if (word in YES or word in NO) and not step:
        answered = _answer_offer(turn, word in YES)
        if answered is not None:
            return answered
    if turn.understanding.intent == "confirm" and not step:
        # "Yes", "ok see you then", "I'll be there": people answer a reminder in words, too,
        # when it is the last thing they were sent.
        return _answer_reminder(turn, "C", in_words=True)
    return None


def _reminded(turn: dialogue.Turn) -> bool:
    """Whether a reminder is waiting for an answer ("cancelar" alone is otherwise the dialogue's
    cancel request, which asks which appointment)."""
    return reminders.last_reminded(turn.tools.db, turn.patient.id, now=turn.now) is not None


def _answer_reminder(
    turn: dialogue.Turn, word: str, *, in_words: bool = False
) -> dict[str, Any] | None:
    appointment = reminders.last_reminded(
        turn.tools.db, turn.patient.id, now=turn.now, unanswered=in_words
    )
    if appointment is None:
        return None
    description = dialogue.describe(appointment, turn.clinic, turn.vault)
    if word == "C":
        _answered(turn.tools.confirm_appointment(appointment.id), "C", turn)
        turn.say(replies.reminder_confirmed(description))
        return {}
    if word == "R":
        _answered(appointment, "R", turn)
        return dialogue.start_reschedule(turn, appointment)
    turn.say(replies.reminder_cancel_check(description))
    return {"step": "reminder_cancel", "appointment": appointment.id, "description": description}


def _cancel(turn: dialogue.Turn, state: dict[str, Any]) -> dict[str, Any]:
    try:
        cancelled = turn.tools.cancel_appointment(state["appointment"])
    except SchedulingError:
        turn.say(replies.reminder_reply_stale(turn.clinic))
        return {}
    _answered(cancelled, "X", turn)
    turn.say(replies.cancelled(state["description"]))
    return {}


def _answered(appointment: Appointment, answer: str, turn: dialogue.Turn) -> None:
    """Keep the patient's answer to the reminder on the appointment (saved with the turn)."""
    if appointment.reminder_answer != answer:
        appointment.reminder_answer = answer
        appointment.updated_at = turn.now


def _answer_offer(turn: dialogue.Turn, yes: bool) -> dict[str, Any] | None:
    db, now = turn.tools.db, turn.now
    offer = waitlist.latest_offer(db, turn.patient.id, now=now)
    if offer is None:
        return None
    if not yes:
        waitlist.answered(db, offer, "declined", now=now)
        turn.say(replies.offer_declined())
        return {}
    if offer.status == "taken":
        waitlist.answered(db, offer, "taken", now=now)
        turn.say(replies.offer_taken())
        return {}
    if offer.status == "expired" or offer.expires_at <= now:
        waitlist.answered(db, offer, "expired", now=now)
        turn.say(replies.offer_expired())
        return {}
    slot = Slot.from_dict(offer.slot)
    entry = db.get(WaitlistEntry, offer.entry_id)
    if entry is not None:  # the level the entry waits at (triage's or staff's) books the offer
        turn.tools.heard(entry.priority)
    try:
        appointment = turn.tools.book_appointment(slot)
    except SchedulingError:
        waitlist.answered(db, offer, "taken", now=now)
        turn.say(replies.offer_taken())
        return {}
    waitlist.accepted(db, offer, appointment, now=now)
    turn.say(
        replies.offer_accepted(dialogue.describe(appointment, turn.clinic, turn.vault), turn.clinic)
    )
    return {}
