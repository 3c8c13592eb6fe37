"""Booking: the questions in order (the kind of visit, the day), the openings offered (up to three,
numbered, the day asked for first), and taking one, through `SchedulingTools` only.

A day or time given out of turn is kept; "anything later?" offers the neighbouring times; the same
kind of visit twice on one day asks first.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Any

from bot.patient import replies
from bot.patient.turn import SAME_TIME, Turn, bare_next_week, describe, merge
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.errors import OutsideBookingWindow, SchedulingError, SlotUnavailable
from scheduler.models import Appointment

# How far past the requested day to look when that day has nothing open.
FALLBACK_DAYS = 21

CHOICES = 3  # openings offered at a time

# No day, but "asap", "first available", "any day": the earliest openings, from today.
_ANY_DAY = re.compile(r"\b(?:any ?day|whenever|this week|next available|soonest)\b", re.IGNORECASE)

# "anything later?" / "earlier?" about the times offered.
LATER = re.compile(r"\b(?:later|after (?:that|those))\b", re.IGNORECASE)

EARLIER = re.compile(r"\b(?:earlier|sooner|before (?:that|those))\b", re.IGNORECASE)


def asks_soonest(turn: Turn) -> bool:
    """No day, but "asap", "first available", "any day": the earliest openings."""
    u = turn.understanding
    return not (u.date or u.date_problem) and bool(u.urgency or _ANY_DAY.search(turn.text))


def next_question(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    if not state.get("type"):
        turn.say(replies.ask_type(), replies.type_names(turn.clinic))
        return {**state, "step": "ask_type"}
    if state.get("date_problem") == "impossible":
        turn.say(replies.impossible_date())
        return {**state, "step": "ask_day", "date_problem": None}
    if (
        not state.get("date")
        and state.get("mode") == "reschedule"
        and (state.get("time") or state.get("part"))
    ):
        state = {**state, "date": state["from_date"]}  # "move it to 3pm": the same day
    if not state.get("date"):
        type_name = replies.type_name(turn.clinic.appointment_type(state["type"]))
        if state.get("mode") == "reschedule":
            turn.say(replies.ask_reschedule_day(state["description"]))
        else:
            turn.say(replies.ask_day(type_name))
        return {**state, "step": "ask_day"}
    return _offer(turn, state)


def with_type(turn: Turn, state: dict[str, Any]) -> dict[str, Any] | None:
    """The state with the kind of visit the answer named or numbered, or None."""
    u = turn.understanding
    types = turn.clinic.appointment_types
    if u.appointment_type:
        return merge(state, u)
    if u.intent == "choose" and u.choice and 1 <= u.choice <= len(types):
        return {**state, "type": types[u.choice - 1].key}
    return None


def answer_type(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    picked = with_type(turn, state)
    if picked is not None:
        return next_question(turn, picked)
    types = turn.clinic.appointment_types
    u = turn.understanding
    if u.intent == "choose":
        turn.say(replies.choose_range(len(types)), replies.type_names(turn.clinic))
        return state
    if u.date or u.time or u.part_of_day or u.provider:
        # "tomorrow morning" before the kind of visit: kept, and the kind asked once more.
        turn.say(replies.ask_type_keeping_when(), replies.type_names(turn.clinic))
        return merge(state, u)
    turn.say(replies.not_understood("ask_type"), replies.type_names(turn.clinic))
    return state


def answer_when(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    u = turn.understanding
    offers = state.get("offers") or []
    if state.get("step") == "offer_slots" and offers:
        if u.intent == "choose" and u.choice:
            if 1 <= u.choice <= len(offers):
                return _take(turn, state, Slot.from_dict(offers[u.choice - 1]))
            if not u.date:  # "the 7th" is a choice out of range but a fine day
                turn.say(replies.choose_range(len(offers)), state.get("labels", []))
                return state
        if u.time and not u.date and not u.time_bound:
            wanted = u.time.strftime("%H:%M")
            for offer in offers:
                local = Slot.from_dict(offer).start.astimezone(turn.clinic.zone)
                if local.strftime("%H:%M") == wanted:
                    return _take(turn, state, Slot.from_dict(offer))
        if (
            u.intent == "confirm"
            and state.get("time")
            and not state.get("bound")
            and (
                Slot.from_dict(offers[0]).start.astimezone(turn.clinic.zone).strftime("%H:%M")
                == state["time"]
            )
        ):
            # "monday 9am" offered 9:00 first; "yes" takes it.
            return _take(turn, state, Slot.from_dict(offers[0]))
        if u.intent == "deny":  # the times offered stay open: "1" still takes one
            turn.say(replies.ask_day_again())
            return state
    if asks_soonest(turn):
        return next_question(
            turn, {**merge(state, u), "date": turn.today.isoformat(), "time": None, "soonest": True}
        )
    if state.get("mode") == "reschedule" and (
        SAME_TIME.search(turn.text) or bare_next_week(turn.text)
    ):
        moved = merge(state, u)
        if SAME_TIME.search(turn.text):
            moved["time"] = state["from_time"]
        if bare_next_week(turn.text):
            moved["date"] = (date.fromisoformat(state["from_date"]) + timedelta(days=7)).isoformat()
        return next_question(turn, moved)
    if u.date or u.date_problem or u.time or u.part_of_day or u.provider or u.appointment_type:
        return next_question(turn, merge(state, u))
    if u.intent == "book":
        return next_question(turn, state)
    turn.say(replies.not_understood(state.get("step")), state.get("labels", ()))
    return state


def _offer(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    clinic = turn.clinic
    kind = clinic.appointment_type(state["type"])
    day = date.fromisoformat(state["date"])
    wanted_time = time.fromisoformat(state["time"]) if state.get("time") else None
    prefix: list[str] = []
    if state.get("date_problem") == "past" or day < turn.today:
        prefix.append(replies.past_date(day))
        day = turn.today
    if day > turn.today + timedelta(days=kind.max_days_ahead):
        turn.say(replies.beyond_horizon(replies.type_name(kind), kind.max_days_ahead))
        return {**state, "step": "ask_day", "date": None, "time": None}
    provider = _provider_for(clinic, state)
    bound = state.get("bound") if wanted_time else None

    def find(first: date, last: date, limit: int, provider_key: str | None) -> list[Slot]:
        """Openings from `first` to `last`; with a bound ("after 3"), only those within it,
        earliest first (the search puts them first; what fills in after them is dropped)."""
        found = turn.tools.find_slots(
            kind.key,
            start_date=first,
            end_date=last,
            provider_key=provider_key,
            part_of_day=state.get("part"),
            around=None if bound else wanted_time,
            limit=limit,
            after=wanted_time if bound == "after" else None,
            before=wanted_time if bound == "before" else None,
        )
        if not bound or wanted_time is None:  # a bound is only kept with a time
            return found
        return [s for s in found if _within(s, wanted_time, bound, clinic)]

    try:
        slots = find(day, day, CHOICES, provider)
        on_day = len(slots)
        if on_day < CHOICES:
            # A full or nearly full day: the nearest openings after it, so there is a choice.
            slots += find(
                day + timedelta(days=1),
                day + timedelta(days=FALLBACK_DAYS),
                CHOICES - on_day,
                provider,
            )
        if not slots and provider:
            slots = find(day, day + timedelta(days=FALLBACK_DAYS), CHOICES, None)
        if not slots and bound:  # nothing within it: the nearest times, said as such
            return _offer(turn, {**state, "bound": None})
    except SchedulingError:
        slots, on_day = [], 0
    if not slots:
        turn.say(" ".join(prefix + [replies.no_slots(replies.type_name(kind), clinic)]))
        return {}
    exact = (
        wanted_time is None
        or bool(bound and on_day)
        or any(s.start.astimezone(clinic.zone).time() == wanted_time for s in slots[:on_day])
    )
    requested_day = None if prefix or state.get("soonest") else day
    return _present(
        turn,
        state,
        slots,
        " ".join(
            prefix + [replies.slots_offer(requested_day, on_day, exact=exact, shown=len(slots))]
        ),
    )


def _within(slot: Slot, limit: time, bound: str, clinic: Clinic) -> bool:
    """Whether the slot starts within "after `limit`" or "before `limit`" (the limit itself
    included: "after 3" takes 3:00, as people mean it)."""
    start = slot.start.astimezone(clinic.zone).time()
    return start >= limit if bound == "after" else start <= limit


def _provider_for(clinic: Clinic, state: dict[str, Any]) -> str | None:
    """The provider asked for, unless they do not do this kind of visit (then: any)."""
    provider = state.get("provider")
    if provider and provider not in {p.key for p in clinic.providers_for(state["type"])}:
        return None
    return provider


def _present(turn: Turn, state: dict[str, Any], slots: list[Slot], intro: str) -> dict[str, Any]:
    clinic = turn.clinic
    if state.get("attendee"):  # whose visit, and which kind, before the times
        intro = (
            replies.offer_for(
                state["attendee"], replies.type_name(clinic.appointment_type(state["type"]))
            )
            + " "
            + intro
        )
    labels = _labels(slots, clinic)
    turn.say(intro, labels)
    return {
        **state,
        "step": "offer_slots",
        "date_problem": None,
        "offers": [s.as_dict() for s in slots],
        "labels": labels,
    }


def _labels(slots: list[Slot], clinic: Clinic) -> list[str]:
    return [
        replies.slot_label(
            s.start, replies.provider_name(clinic.provider(s.provider_key)), clinic.zone
        )
        for s in slots
    ]


def offer_beside(turn: Turn, state: dict[str, Any], *, later: bool) -> dict[str, Any]:
    """The nearest times after the latest offered (or before the earliest), the same day."""
    clinic = turn.clinic
    offered = [Slot.from_dict(o).start for o in state["offers"]]
    edge = (max(offered) if later else min(offered)).astimezone(clinic.zone)
    provider = _provider_for(clinic, state)
    try:
        nearby = turn.tools.find_slots(
            state["type"],
            start_date=edge.date(),
            end_date=edge.date(),
            provider_key=provider,
            around=edge.time(),
            limit=12,
        )
    except SchedulingError:
        nearby = []
    beside = sorted(
        (s for s in nearby if (s.start > edge if later else s.start < edge)),
        key=lambda s: abs(s.start - edge),
    )[:3]
    if not beside:  # the times offered stay open; another day works too
        turn.say(replies.nothing_beside(edge.date(), later=later), state.get("labels", []))
        return state
    return _present(turn, state, sorted(beside, key=lambda s: s.start), replies.slots_offer(None))


def _take(turn: Turn, state: dict[str, Any], slot: Slot) -> dict[str, Any]:
    clinic = turn.clinic
    moving = state.get("mode") == "reschedule"
    if not moving and not state.get("second_ok"):
        # The same kind of visit twice the same day is nearly always a slip (booking again
        # instead of moving): asked first.
        same = _booked_same_day(turn, slot)
        if same is not None:
            turn.say(replies.already_booked_that_day(describe(same, clinic, turn.vault)))
            return {**state, "step": "confirm_second", "slot": slot.as_dict()}
    try:
        attendee = state.get("attendee")
        appointment = (
            turn.tools.reschedule_appointment(state["appointment"], slot)
            if moving
            else turn.tools.book_appointment(
                slot, attendee_enc=turn.vault.encrypt(attendee) if attendee else None
            )
        )
        # The names from the clinic, not the appointment's relationships (a query each).
        names = (
            replies.type_name(clinic.appointment_type(slot.type_key)),
            appointment.start_at,
            replies.provider_name(clinic.provider(slot.provider_key)),
            clinic,
        )
        if moving:
            turn.say(replies.moved(*names))
        elif attendee:
            turn.say(replies.booked_for(attendee, *names, appointment.id))
        else:
            turn.say(replies.booked(*names, appointment.id))
        return {}
    except (SlotUnavailable, OutsideBookingWindow) as refusal:
        alternatives = refusal.alternatives[:3]
        if not alternatives:
            turn.say(replies.slot_taken_ask_day())
            return {**state, "step": "ask_day", "offers": []}
        labels = _labels(alternatives, clinic)
        turn.say(replies.slot_taken_offer(), labels)
        return {
            **state,
            "step": "offer_slots",
            "offers": [s.as_dict() for s in alternatives],
            "labels": labels,
        }
    except SchedulingError as refusal:
        turn.say(replies.booking_refused(refusal, turn.clinic))
        return {}


def _booked_same_day(turn: Turn, slot: Slot) -> Appointment | None:
    """The patient's upcoming appointment of the slot's kind on the slot's day, if any."""
    day = slot.start.astimezone(turn.clinic.zone).date()
    return next(
        (
            a
            for a in turn.tools.list_appointments()
            if a.appointment_type.key == slot.type_key
            and a.start_at.astimezone(turn.clinic.zone).date() == day
        ),
        None,
    )


def answer_second(turn: Turn, state: dict[str, Any]) -> dict[str, Any]:
    """YES books the second visit that day after all; NO books nothing."""
    u = turn.understanding
    if u.intent == "confirm":
        return _take(turn, {**state, "second_ok": True}, Slot.from_dict(state["slot"]))
    if u.intent == "deny":
        turn.say(replies.nothing_booked())
        return {}
    turn.say(replies.not_understood("confirm_second"))
    return state
