"""Joining the waitlist from the conversation: the kind of visit (required), a provider and a
window of two weeks from a day, when the message names them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.patient import replies
from bot.patient.offers import with_type
from bot.patient.turn import Turn
from scheduler.errors import SchedulingError


def join_waitlist(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """The waitlist: the type is required; a provider and a day (a window of two weeks from it)
    are taken from the message when it names them."""
    clinic = turn.clinic
    if not state.get("type"):
        turn.say(replies.waitlist_ask_type(), replies.type_names(clinic))
        return {**state, "step": "waitlist_type"}
    kind = clinic.appointment_type(state["type"])
    earliest = date.fromisoformat(state["date"]) if state.get("date") else None
    if earliest is not None and earliest < turn.today:
        earliest = turn.today
    latest = earliest + timedelta(days=14) if earliest else None
    try:
        entry, created = turn.tools.join_waitlist(
            kind.key, provider_key=state.get("provider"), earliest=earliest, latest=latest
        )
    except SchedulingError as refusal:
        turn.say(replies.booking_refused(refusal, turn.clinic))
        return {}
    if not created:
        turn.say(replies.waitlist_already(replies.type_name(kind)))
        return {}
    provider = (
        replies.provider_name(clinic.provider(entry.provider_key)) if entry.provider_key else None
    )
    window = replies.period_text(earliest, latest) if earliest and latest else None
    turn.say(
        replies.waitlist_joined(
            replies.type_name(kind), clinic, provider, window, level=entry.priority
        )
    )
    return {}


def answer_waitlist_type(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    picked = with_type(turn, state)
    if picked is not None:
        return join_waitlist(turn, picked)
    turn.say(replies.not_understood("ask_type"), replies.type_names(turn.clinic))
    return state
