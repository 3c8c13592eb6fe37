"""The choices staff click and what a click does: the action token every button and menu option
carries (the admin desk's Erase too, bot/staff/admin.py), and booking, moving, cancelling or
rescheduling from one.

A choice carries an action token ("b:12:checkup:okafor:1772719200:exam-1"; "u:..." and "v:..."
book and move at the urgent level; "f:42" and "n:42" for the day schedule's Attended and No-show
buttons): compact (a Slack select option holds 150 characters), parsed strictly, and never
trusted beyond naming what to try: the booking checks the slot again and the role is checked again
at the click.
The first choice taken from one set of choices books or moves; a double click, or a second pick
from the same menu, is refused (a receipt in the database, so it holds across workers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.staff import attendance
from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.staff.fields import leading_phone, valid_name
from bot.tools import Caller, SchedulingTools
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.models import MessageReceipt, Patient
from scheduler.patients import find_or_create_patient, set_patient_name

if TYPE_CHECKING:
    from bot.staff.desk import StaffDesk

RECEIPT_CHANNEL = "slack"

_KEY = r"[a-z0-9][a-z0-9-]{0,63}"
_TOKEN = re.compile(
    rf"^(?P<op>[bumvcrsefn])(?::(?P<id>\d{{1,12}}))?"
    rf"(?::(?P<type>{_KEY}):(?P<provider>{_KEY}):(?P<start>\d{{9,11}})"
    rf":(?P<room>{_KEY})?)?$"
)
_OPS = {
    "b": "book",
    "u": "book_urgent",  # staff said the patient is urgent: reserved times may be booked
    "m": "move",
    "v": "move_urgent",
    "c": "cancel",
    "r": "reschedule",
    "s": "slot",
    "e": "erase",
    "f": "fulfilled",  # the visit was attended
    "n": "noshow",
}
_NEEDS = {
    "book": (True, True),
    "book_urgent": (True, True),
    "move": (True, True),
    "move_urgent": (True, True),
    "cancel": (True, False),
    "reschedule": (True, False),
    "slot": (False, True),
    "erase": (True, False),
    "fulfilled": (True, False),
    "noshow": (True, False),
}


@dataclass(frozen=True)
class Action:
    """A parsed action token."""

    op: str  # "book", "book_urgent", "move", "cancel", "reschedule", "slot", "erase", ...
    target: int | None = None  # patient id (book, erase) or appointment id (the others)
    slot: tuple[str, str, int, str | None] | None = None  # type, provider, start epoch, room


def slot_token(op: str, target: int | None, slot: Slot) -> str:
    letter = next(k for k, v in _OPS.items() if v == op)
    head = letter if target is None else f"{letter}:{target}"
    return (
        f"{head}:{slot.type_key}:{slot.provider_key}:{int(slot.start.timestamp())}:"
        f"{slot.room_key or ''}"
    )


def plain_token(op: str, target: int) -> str:
    letter = next(k for k, v in _OPS.items() if v == op)
    return f"{letter}:{target}"


def parse_action(value: object) -> Action | None:
    """The action a token names, or None for anything this desk did not make."""
    if not isinstance(value, str) or len(value) > 150:
        return None
    match = _TOKEN.match(value)
    if match is None:
        return None
    op = _OPS[match["op"]]
    needs_target, needs_slot = _NEEDS[op]
    has_slot = match["type"] is not None
    if needs_target != (match["id"] is not None) or needs_slot != has_slot:
        return None
    slot = (
        (match["type"], match["provider"], int(match["start"]), match["room"] or None)
        if has_slot
        else None
    )
    return Action(op, int(match["id"]) if match["id"] else None, slot)


def slot_of(clinic: Clinic, action: Action | None) -> Slot | None:
    """The slot a token names, if its type and provider are still the clinic's."""
    if action is None or action.slot is None:
        return None
    type_key, provider_key, epoch, room = action.slot
    try:
        kind = clinic.appointment_type(type_key)
        clinic.provider(provider_key)
    except StopIteration:
        return None
    start = datetime.fromtimestamp(epoch, UTC)
    return Slot(
        type_key,
        provider_key,
        start,
        start + timedelta(minutes=kind.duration_minutes),
        room,
        kind.equipment,
    )


# --- a click --------------------------------------------------------------------------------------


class _Used(Exception):
    """A set of choices was used already (a double click, a second click on another choice)."""


def act(desk: StaffDesk, caller: Caller, token: object, *, once: str | None = None) -> StaffAnswer:
    """A clicked choice or button. `once` names the set of choices it came from (a Slack
    message): the first choice taken from a set wins, a second click is refused."""
    action = parse_action(token)
    if action is None or action.op in ("slot", "erase"):
        return StaffAnswer(say.invalid_action(), ok=False)
    now = desk.clock()
    try:
        with desk.sessions.begin() as db:
            once = once if action.op in ("book", "book_urgent", "move", "move_urgent") else None
            if once and _used(db, once):
                raise _Used()
            tools = desk.tools(db, caller, now)
            answer = _act(desk, db, tools, action)
            if once and answer.ok:
                _claim_once(db, once, desk.clock())
            return answer
    except _Used:
        return StaffAnswer(say.offer_used(), ok=False)


def _act(desk: StaffDesk, db: Session, tools: SchedulingTools, action: Action) -> StaffAnswer:
    if action.target is None:  # parse_action gives every op but "slot" (refused above) one
        return StaffAnswer(say.invalid_action(), ok=False)
    if action.op == "cancel":
        return desk.cancel(db, tools, action.target)
    if action.op == "reschedule":
        return desk.offer_or_move(db, tools, action.target, None, None)
    if action.op in attendance.OUTCOMES:  # a day schedule's Attended / No-show: shown again
        return attendance.mark(desk, db, tools, action.target, action.op, schedule=True)
    slot = slot_of(desk.clinic, action)
    if slot is None:
        return StaffAnswer(say.invalid_action(), ok=False)
    if action.op in ("move", "move_urgent"):
        urgency = "urgent" if action.op == "move_urgent" else None
        return desk.move(db, tools, action.target, slot, urgency=urgency)
    patient = db.get(Patient, action.target)
    if patient is None or patient.erased_at is not None:
        return StaffAnswer(say.invalid_action(), ok=False)
    urgency = "urgent" if action.op == "book_urgent" else None
    return desk.book(db, tools, patient.id, slot, urgency=urgency)


def book_new_patient(
    desk: StaffDesk, caller: Caller, token: object, phone_text: str, name: str | None
) -> StaffAnswer:
    """A free slot (`/appt slots`) booked for a patient given by phone (and name)."""
    action = parse_action(token)
    slot = slot_of(desk.clinic, action) if action and action.op == "slot" else None
    if slot is None:
        return StaffAnswer(say.invalid_action(), ok=False)
    phone, rest, _ = leading_phone(phone_text or "")
    if phone is None or rest:
        return StaffAnswer(say.bad_phone(), ok=False)
    name = " ".join((name or "").split()) or None
    if name is not None and not valid_name(name):
        return StaffAnswer(say.bad_name(), ok=False)
    now = desk.clock()
    with desk.sessions.begin() as db:
        tools = desk.tools(db, caller, now)
        patient = find_or_create_patient(db, desk.vault, phone, now=now)
        if name and patient.name_enc is None:
            set_patient_name(desk.vault, patient, name)
        db.flush()
        return desk.book(db, tools, patient.id, slot)


def _once_key(once: str) -> str:
    return f"offer:{once}"[:128]


def _used(db: Session, once: str) -> bool:
    return (
        db.scalar(
            select(MessageReceipt.id).where(
                MessageReceipt.channel == RECEIPT_CHANNEL,
                MessageReceipt.external_id == _once_key(once),
            )
        )
        is not None
    )


def _claim_once(db: Session, once: str, now: datetime) -> None:
    try:
        with db.begin_nested():
            db.add(
                MessageReceipt(channel=RECEIPT_CHANNEL, external_id=_once_key(once), created_at=now)
            )
    except IntegrityError:
        raise _Used() from None
