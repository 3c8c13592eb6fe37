"""The patient's appointments: listing them, picking one (by number, reference or words), and
cancelling (after YES) or moving it (the booking questions again, the visit's type and provider
kept). A reference that is not the patient's is never swapped for one that is.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.patient import replies
from bot.patient.naming import start_booking
from bot.patient.offers import next_question
from bot.patient.turn import SAME_TIME, Turn, bare_next_week, describe, entities, referenced
from scheduler.errors import SchedulingError
from scheduler.models import Appointment


def say_appointments(turn: Turn) -> None:
    appointments = turn.tools.list_appointments()
    if not appointments:
        turn.say(replies.no_appointments())
        return
    turn.say(replies.appointments_list(referenced(appointments, turn.clinic, turn.vault)))


def pick_appointment(
    turn: Turn, action: str, appointments: list[Appointment] | None = None
) -> dict[str, Any]:
    if appointments is None:
        appointments = turn.tools.list_appointments()
    reference = turn.understanding.reference
    if reference is not None:
        # The appointment the patient names by its reference, and never another in its place.
        named = next((a for a in appointments if a.id == reference), None)
        if named is None:
            return _unknown_reference(turn, action, reference, appointments)
        return _act_on(turn, action, named)
    if not appointments:
        turn.say(replies.no_appointments())
        return {}
    if len(appointments) == 1:
        return _act_on(turn, action, appointments[0])
    # "cancel my vaccination", "cancel my appointment tomorrow": the one it names. (A day in a
    # request to move one is where to, not which.)
    named_ids = _described(turn, [a.id for a in appointments], by_when=action == "cancel")
    if len(named_ids) == 1:
        return _act_on(turn, action, next(a for a in appointments if a.id == named_ids[0]))
    labels = [describe(a, turn.clinic, turn.vault) for a in appointments]
    turn.say(replies.pick_appointment("cancel" if action == "cancel" else "move"), labels)
    return {
        "step": "pick_appointment",
        "action": action,
        "choices": [a.id for a in appointments],
        "labels": labels,
        "carry": _carried(turn),
    }


def _carried(turn: Turn) -> dict[str, Any]:
    """What a request to move a visit said of where to ("to next week, same time"), kept while
    the patient is asked which visit."""
    carry = entities(turn.understanding)
    if SAME_TIME.search(turn.text):
        carry["same_time"] = True
    if bare_next_week(turn.text):
        carry["next_week"] = True
    return carry


def answer_pick(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """Which of the listed appointments: its number, or words that fit only one of them ("the
    vaccination", "the one on Tuesday", "the 8am"). A new booking request starts one."""
    u = turn.understanding
    choices = state.get("choices", [])
    if u.reference is not None and u.reference in choices:  # choices: appointment ids
        picked = [u.reference]
    elif u.intent == "choose" and u.choice and 1 <= u.choice <= len(choices):
        picked = [choices[u.choice - 1]]  # "2" or "#2": the second listed
    elif u.reference is not None:
        return _unknown_reference(
            turn, state["action"], u.reference, turn.tools.list_appointments()
        )
    else:
        picked = _described(turn, choices)
    if len(picked) == 1:
        try:
            appointment = turn.tools.get_appointment(picked[0])
        except SchedulingError:
            turn.say(replies.no_appointments())
            return {}
        return _act_on(turn, state["action"], appointment, carry=state.get("carry"))
    if u.intent == "deny":
        turn.say(replies.kept())
        return {}
    if u.intent == "book" and not picked:
        return start_booking(turn)
    turn.say(replies.not_understood("pick_appointment"), state.get("labels", ()))
    return state


def _unknown_reference(
    turn: Turn, action: str, reference: int, appointments: list[Appointment]
) -> dict[str, Any]:
    """A reference that is none of the patient's upcoming appointments (another patient's, a
    past one, or none at all): said so, with their own listed; nothing changes, and the attempt
    is audited (the reference as the event's appointment id, for whoever looks into it)."""
    turn.tools.record_refusal(action, "unknown_reference", appointment_id=reference)
    turn.say(
        replies.unknown_reference(reference, referenced(appointments, turn.clinic, turn.vault))
    )
    return {}


def _described(turn: Turn, appointment_ids: list[int], *, by_when: bool = True) -> list[int]:
    """The appointments among `appointment_ids` that fit what the message says of a visit (its
    kind, provider and, `by_when`, day and time)."""
    u = turn.understanding
    date_, time_ = (u.date, u.time) if by_when else (None, None)
    if not (u.appointment_type or u.provider or date_ or time_):
        return []
    fitting = []
    for appointment_id in appointment_ids:
        try:
            appointment = turn.tools.get_appointment(appointment_id)
        except SchedulingError:
            continue
        start = appointment.start_at.astimezone(turn.clinic.zone)
        if (
            (u.appointment_type and appointment.appointment_type.key != u.appointment_type)
            or (u.provider and appointment.provider.key != u.provider)
            or (date_ and start.date() != date_)
            or (time_ and (start.hour, start.minute) != (time_.hour, time_.minute))
        ):
            continue
        fitting.append(appointment_id)
    return fitting


def _act_on(
    turn: Turn, action: str, appointment: Appointment, carry: dict[str, Any] | None = None
) -> dict[str, Any]:
    description = describe(appointment, turn.clinic, turn.vault)
    if action == "cancel":
        turn.say(replies.confirm_cancel(description))
        return {"step": "confirm_cancel", "appointment": appointment.id, "description": description}
    carry = carry if carry is not None else _carried(turn)
    start = appointment.start_at.astimezone(turn.clinic.zone)
    state = {
        "mode": "reschedule",
        "appointment": appointment.id,
        "description": description,
        "type": appointment.appointment_type.key,
        "provider": appointment.provider.key,
        "from_date": start.date().isoformat(),
        "from_time": start.strftime("%H:%M"),
    }
    state.update({k: v for k, v in carry.items() if k not in ("type", "same_time", "next_week")})
    if carry.get("same_time") and "time" not in carry:
        state["time"] = state["from_time"]
    if carry.get("next_week"):  # the week after the visit's, not after today's
        state["date"] = (start.date() + timedelta(days=7)).isoformat()
    return next_question(turn, state)


def answer_cancel(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    u = turn.understanding
    if u.intent == "confirm":
        try:
            turn.tools.cancel_appointment(state["appointment"])
        except SchedulingError as refusal:
            turn.say(replies.booking_refused(refusal, turn.clinic))
            return {}
        turn.say(replies.cancelled(state["description"]))
        return {}
    if u.intent == "deny":
        turn.say(replies.kept())
        return {}
    turn.say(replies.not_understood("confirm_cancel"))
    return state


def start_reschedule(turn: Turn, appointment: Appointment) -> dict[str, Any]:
    """Begin moving `appointment` (an "R" answer to its reminder)."""
    return _act_on(turn, "reschedule", appointment, carry={})
