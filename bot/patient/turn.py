"""One turn of the patient's conversation: the message in context (`Turn`), the replies it gets,
and the conversation state's keys for what a message said of a visit (`entities`, `merge`).

Also how a patient's appointment is named to them (`describe`), which every part of the dialogue
uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.patient import replies
from bot.tools import SchedulingTools
from bot.understanding.nlu import Understanding
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.models import Appointment, Patient

# Moving a visit: "next week, same time" ("la semana que viene, a la misma hora").
SAME_TIME = re.compile(r"\bsame (?:time|hour)\b|\bmisma hora\b", re.IGNORECASE)

# "next week" with no day named: for a visit being moved, the week after the visit's.
_NEXT_WEEK = re.compile(
    r"\bnext\s+w(?:ee)?k\b|\bsemana\s+que\s+viene\b"
    r"|\bpr[oó]xima\s+semana\b|\bsemana\s+pr[oó]xima\b",
    re.IGNORECASE,
)

_WEEKDAY_NAMED = re.compile(
    r"\b(?:mon|tue|wed|thu|fri|sat|sun)\w*|\b(?:lunes|martes|mi[eé]rcoles"
    r"|jueves|viernes|s[aá]bado|domingo)\b",
    re.IGNORECASE,
)


@dataclass
class Reply:
    text: str
    options: tuple[str, ...] = ()
    kind: str = "reply"


@dataclass
class Turn:
    """One message in context: what it said, who said it, and the tools bound to them."""

    text: str
    understanding: Understanding
    patient: Patient
    tools: SchedulingTools
    clinic: Clinic
    vault: Vault
    now: datetime
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, options: tuple[str, ...] | list[str] = ()) -> None:
        self.replies.append(Reply(text, tuple(options)))

    @property
    def today(self) -> date:
        return self.now.astimezone(self.clinic.zone).date()


def entities(u: Understanding, *, flag_past: bool = True) -> dict[str, Any]:
    """What a message said about the visit, as state keys (the staff chat shares this).
    `flag_past`: keep a "past" date problem for the reply to explain (patients' dialogue)."""
    found: dict[str, Any] = {}
    if u.appointment_type:
        found["type"] = u.appointment_type
    if u.date_problem == "impossible":
        found["date_problem"] = "impossible"
    elif u.date:
        found["date"] = u.date.isoformat()
        if flag_past and u.date_problem == "past":
            found["date_problem"] = "past"
    if u.time:
        found["time"] = u.time.strftime("%H:%M")
        found["bound"] = u.time_bound  # "after 3": a limit, not a wish
    if u.part_of_day:
        found["part"] = u.part_of_day
    if u.provider:
        found["provider"] = u.provider
    return found


def merge(state: dict[str, Any], u: Understanding, *, flag_past: bool = True) -> dict[str, Any]:
    """The state updated with what a new message said (a new day drops the old day's time)."""
    return merge_found(state, entities(u, flag_past=flag_past))


def merge_found(state: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    merged = {k: v for k, v in state.items() if k != "date_problem"}
    if "date" in new or "date_problem" in new:
        merged.pop("date", None)
        merged.pop("soonest", None)
        if "time" not in new:
            merged.pop("time", None)
            merged.pop("bound", None)
    merged.update(new)
    return merged


def describe(appointment: Appointment, clinic: Clinic, vault: Vault) -> str:
    kind, provider = appointment.appointment_type, appointment.provider
    names = (
        replies.type_name_of(clinic, kind.key, kind.name),
        appointment.start_at,
        replies.provider_name_of(clinic, provider.key, provider.name),
        clinic.zone,
    )
    attendee = vault.decrypt(appointment.attendee_enc)  # None when it is the patient's own
    if attendee is not None:
        return replies.appointment_line_for(attendee, *names)
    return replies.appointment_line(*names)


def referenced(appointments: list[Appointment], clinic: Clinic, vault: Vault) -> list[str]:
    """Each appointment with its reference, which the booking's confirmation gave and the
    desk asks for."""
    return [replies.with_reference(describe(a, clinic, vault), a.id) for a in appointments]


def bare_next_week(text: str) -> bool:
    return bool(_NEXT_WEEK.search(text)) and not _WEEKDAY_NAMED.search(text)
