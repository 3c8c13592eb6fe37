"""The `/appt` commands: one line of text read into what the staff desk does.

`/appt today`, `slots`, `book`, `cancel`, `move`, `find`, `contact`, `waitlist`, `attended`
and `noshow` (`no-show` too) for a visit that has started, and `urgent` and `urgency` (the urgent
queue and a waitlist entry's level: bot/staff/urgency.py) (the words and their usage lines are
bot/staff/replies.py's `APPT_USAGE`). Each reads its words strictly and
answers with its usage line when something is missing or unreadable. Offering, booking, moving,
cancelling and looking up are the desk's (bot/staff/desk.py), so the staff conversation does them
the same way; all of one command happens in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.staff import attendance, urgency
from bot.staff import replies as say
from bot.staff.answers import StaffAnswer
from bot.staff.fields import appointment_id, leading_phone
from bot.tools import Caller, SchedulingTools
from scheduler.models import Patient
from scheduler.patients import find_or_create_patient

if TYPE_CHECKING:
    from bot.staff.desk import StaffDesk

# What one command may hold (`/appt` and `/appt-admin`): any real command is far shorter.
MAX_COMMAND = 500

_Handler = Callable[["StaffDesk", Session, SchedulingTools, str], StaffAnswer]


def run(desk: StaffDesk, caller: Caller, text: str) -> StaffAnswer:
    """One `/appt` command (its text after the command name)."""
    if len(text or "") > MAX_COMMAND:
        return StaffAnswer(say.too_long(MAX_COMMAND), ok=False)
    text = " ".join((text or "").split())
    word, _, rest = text.partition(" ")
    word = word.lower()
    if word in ("", "help"):
        return StaffAnswer(say.appt_help(desk.clinic))
    word = _ALIASES.get(word, word)
    handler = _HANDLERS.get(word)
    if handler is None:
        return StaffAnswer(say.unknown_command(word, list(say.APPT_USAGE.values())), ok=False)
    now = desk.clock()
    with desk.sessions.begin() as db:
        tools = desk.tools(db, caller, now)
        return handler(desk, db, tools, rest)


def _today(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    provider = None
    if rest:
        provider = desk.vocabulary.provider_in(rest)
        if provider is None:
            return StaffAnswer(
                say.usage(say.APPT_USAGE["today"], say.unknown_provider(desk.clinic)), ok=False
            )
    day = tools.now.astimezone(desk.clinic.zone).date()
    entries = desk.schedule(db, day, tools.now, provider)
    return StaffAnswer(
        say.schedule_text(desk.clinic, day, entries), schedule=tuple(entries), day=day
    )


def _slots(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    u = desk.understand(rest, tools.now)
    if not u.appointment_type:
        return StaffAnswer(
            say.usage(say.APPT_USAGE["slots"], say.unknown_type(desk.clinic)), ok=False
        )
    problem = desk.provider_problem(u)
    if problem:
        return StaffAnswer(say.usage(say.APPT_USAGE["slots"], problem), ok=False)
    day, note = desk.day_asked(u, tools.now)
    if note and day is None:
        return StaffAnswer(say.usage(say.APPT_USAGE["slots"], note), ok=False)
    slots, on_day = desk.find(tools, u.appointment_type, day, u.provider, u)
    type_name = desk.clinic.appointment_type(u.appointment_type).name
    if not slots:
        return StaffAnswer(say.with_note(note, say.no_slots(type_name)))
    text = say.with_note(note, say.slots_found(type_name, day, on_day, len(slots)))
    return StaffAnswer(text, choices=desk.slot_choices("slot", None, slots))


def _book(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    usage = say.APPT_USAGE["book"]
    phone, rest, seen = leading_phone(rest)
    if phone is None:
        return StaffAnswer(say.usage(usage, say.bad_phone() if seen else None), ok=False)
    u = desk.understand(rest, tools.now)
    if not u.appointment_type:
        return StaffAnswer(say.usage(usage, say.unknown_type(desk.clinic)), ok=False)
    problem = desk.provider_problem(u)
    if problem:
        return StaffAnswer(say.usage(usage, problem), ok=False)
    day, note = desk.day_asked(u, tools.now)
    if day is None:
        return StaffAnswer(say.usage(usage, note or say.bad_when()), ok=False)
    patient = find_or_create_patient(db, desk.vault, phone, now=tools.now)
    db.flush()
    return desk.offer_or_book(db, tools, patient, u.appointment_type, day, u, note)


def _waitlist(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    phone, rest, seen = leading_phone(rest)
    if phone is None:
        return StaffAnswer(
            say.usage(say.APPT_USAGE["waitlist"], say.bad_phone() if seen else None), ok=False
        )
    return desk.waitlist(db, tools, phone, desk.understand(rest, tools.now))


def _cancel(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    found = appointment_id(rest) if rest else None
    if found is None:
        return StaffAnswer(
            say.usage(say.APPT_USAGE["cancel"], say.bad_appointment_id() if rest else None),
            ok=False,
        )
    return desk.cancel(db, tools, found)


def _move(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    usage = say.APPT_USAGE["move"]
    word, _, when = rest.partition(" ")
    found = appointment_id(word) if word else None
    if found is None:
        return StaffAnswer(say.usage(usage, say.bad_appointment_id() if word else None), ok=False)
    u = desk.understand(when, tools.now)
    day, note = desk.day_asked(u, tools.now)
    if day is None:
        return StaffAnswer(say.usage(usage, note or say.bad_when()), ok=False)
    return desk.offer_or_move(db, tools, found, day, u, note)


def _find(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    phone, _, seen = leading_phone(rest)
    if phone is None:
        return StaffAnswer(
            say.usage(say.APPT_USAGE["find"], say.bad_phone() if seen else None), ok=False
        )
    return desk.lookup(db, tools, phone)


def _contact(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
    """A patient's name and number by their id (the # a notice gives), to call them: the
    staff channel's notices never carry a number. Shown to the one who asked, audited."""
    word = rest.strip().lstrip("#")
    if not word.isdigit() or len(word) > 12:
        return StaffAnswer(say.usage(say.APPT_USAGE["contact"]), ok=False)
    patient = db.get(Patient, int(word))
    if patient is None:
        return StaffAnswer(say.no_patient_with_id(), ok=False)
    desk.audit.record(
        db,
        "patient_contact_shown",
        at=tools.now,
        channel=tools.caller.channel,
        actor=tools.caller.actor,
        patient_id=patient.id,
    )
    return StaffAnswer(
        say.patient_contact(
            desk.patient_label(patient),
            patient.id,
            desk.vault.decrypt(patient.phone_enc),
            patient.opted_out_at is not None,
        )
    )


def _marking(outcome: str, command: str) -> _Handler:
    """`/appt attended <id>` or `/appt noshow <id>`: a visit that has started, marked."""

    def mark(desk: StaffDesk, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        found = appointment_id(rest) if rest else None
        if found is None:
            return StaffAnswer(
                say.usage(say.APPT_USAGE[command], say.bad_appointment_id() if rest else None),
                ok=False,
            )
        return attendance.mark(desk, db, tools, found, outcome)

    return mark


# Other spellings of a command's word.
_ALIASES = {"wait-list": "waitlist", "no-show": "noshow"}

_HANDLERS: dict[str, _Handler] = {
    "today": _today,
    "slots": _slots,
    "book": _book,
    "cancel": _cancel,
    "move": _move,
    "find": _find,
    "contact": _contact,
    "waitlist": _waitlist,
    "attended": _marking("fulfilled", "attended"),
    "noshow": _marking("noshow", "noshow"),
    "urgent": urgency.queue,
    "urgency": urgency.change,
}
