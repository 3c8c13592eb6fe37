"""The local engine's dialogue: what to do with one understood message, given the conversation so far.

A small state machine over a JSON-able `state` dict (stored encrypted by `SessionStore`):

- booking asks only for what is missing, in order: the patient's name (once), the appointment
  type, the day; then it offers up to three numbered slots, and a number books one;
- cancel and reschedule pick the appointment (numbered when there are several), cancel asks YES,
  reschedule reuses the slot offer with the appointment's type and provider preferred;
- list, help and greeting answer at once; anything else gets a re-prompt fitting the step.

A clear new request (cancel, reschedule, list, help) interrupts any step; entities in a message
("friday at 3") fill in the step in progress. The dialogue changes the schedule only through
`SchedulingTools`, so it can never do more than the caller may.

This module routes a turn to the step it answers; the steps live beside it: turn.py (the turn,
its replies and state keys), asides.py (questions beside scheduling), naming.py (whose visit it
is), offers.py (booking), visits.py (listing, cancelling, moving), waitlist.py.
"""

from __future__ import annotations

import re
from typing import Any

from bot.patient import replies
from bot.patient.asides import aside, asks_for_a_change, is_acknowledgement, is_thanks
from bot.patient.naming import answer_attendee, answer_name, attendee_relation, start_booking
from bot.patient.offers import EARLIER, LATER, answer_second, answer_type, answer_when, offer_beside
from bot.patient.turn import Reply, Turn, describe, entities, merge
from bot.patient.visits import (
    answer_cancel,
    answer_pick,
    pick_appointment,
    say_appointments,
    start_reschedule,
)
from bot.patient.waitlist import answer_waitlist_type, join_waitlist
from scheduler.patients import patient_name

# What the engine, the model and the staff chat use of the dialogue, from here.
__all__ = [
    "Reply",
    "Turn",
    "attendee_relation",
    "describe",
    "entities",
    "is_thanks",
    "merge",
    "respond",
    "start_reschedule",
]

INTERRUPTING = {"cancel", "reschedule", "list", "help", "waitlist"}

# Giving up on what is under way.
_NEVER_MIND = re.compile(r"^\W*(?:nvm|never ?mind|forget it|forget about it)\W*$", re.IGNORECASE)

# Changing what was just booked, with nothing under way: "can we make it 10am instead".
_INSTEAD = re.compile(r"\b(?:instead|make it|change it to|switch it to)\b", re.IGNORECASE)


def respond(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """Answer one turn (into `turn.replies`) and return the next state."""
    u = turn.understanding
    step = state.get("step")

    answered = aside(turn, step)
    if answered is not None:
        turn.say(answered)
        if not asks_for_a_change(turn):  # answered; whatever is under way stays where it was
            return state
        # "I'd like a checkup next Tuesday, and what should I bring?": the question is
        # answered, and the request goes on below.
    if _NEVER_MIND.match(turn.text):  # whatever was under way is dropped
        turn.say(replies.never_mind())
        return {}
    if not step and is_thanks(turn.text):  # mid-question, "ok thanks" is no answer
        turn.say(replies.you_are_welcome())
        return {}
    if not step and is_acknowledgement(turn.text):
        turn.say(replies.acknowledged())
        return {}
    if (
        step == "offer_slots"
        and state.get("offers")
        and not (u.date or u.time or u.part_of_day or u.intent in INTERRUPTING - {"reschedule"})
    ):
        # "a later time?" reads as moving an appointment; here it is about these times.
        if LATER.search(turn.text):
            return offer_beside(turn, state, later=True)
        if EARLIER.search(turn.text):
            return offer_beside(turn, state, later=False)
    if u.intent in INTERRUPTING:
        # "put me on the waitlist" while booking: for the visit being booked.
        carried = (
            {k: state[k] for k in ("type", "provider", "date") if state.get(k)}
            if u.intent == "waitlist"
            else {}
        )
        return start_request(turn, u.intent, carried)
    if step == "ask_name":
        return answer_name(turn, state)
    if step == "ask_attendee":
        return answer_attendee(turn, state)
    if step == "waitlist_type":
        return answer_waitlist_type(turn, state)
    if step == "ask_type":
        return answer_type(turn, state)
    if step in ("ask_day", "offer_slots"):
        return answer_when(turn, state)
    if step == "pick_appointment":
        return answer_pick(turn, state)
    if step == "confirm_second":
        return answer_second(turn, state)
    if step == "confirm_cancel":
        return answer_cancel(turn, state)
    if u.intent == "book" and _INSTEAD.search(turn.text):
        # "can we make it 10am instead", right after booking: the change of an appointment.
        appointments = turn.tools.list_appointments()
        if appointments:
            return pick_appointment(turn, "reschedule", appointments)
    if u.intent in ("book", "greeting"):
        return start_request(turn, u.intent, {})
    if u.intent in ("confirm", "deny", "choose"):
        turn.say(replies.nothing_to_confirm())
        return {}
    turn.say(replies.not_understood(None))
    return {}


def start_request(turn: Turn, intent: str, state: dict[str, Any]) -> dict[str, Any]:
    u = turn.understanding
    if intent == "greeting":
        turn.say(replies.greeting(turn.clinic, patient_name(turn.vault, turn.patient)))
        return {}
    if intent == "help":
        turn.say(replies.help_text(turn.clinic))
        return {}
    if intent == "waitlist":
        return join_waitlist(turn, {**state, "mode": "waitlist", **entities(u)})
    if intent == "list":
        say_appointments(turn)
        return {}
    if intent in ("cancel", "reschedule"):
        return pick_appointment(turn, intent)
    return start_booking(turn)
