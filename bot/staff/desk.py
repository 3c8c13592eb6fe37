"""The staff desk: what clinic staff do to the schedule, whatever tool they use. Framework-free.

Slack's `/appt` commands and buttons (adapters/slack.py), a DM with the bot and the staff console
(bot/staff/chat.py) all come here. The desk

- authorizes: a Slack user is staff or admin only if `staff_users` says so; anyone else is
  refused and the attempt audited (`request_refused`, reason `not_authorized`);
- reads and changes the schedule only through `SchedulingTools` bound to a staff `Caller`, so
  the rules, the audit trail and the no-double-booking guarantee are the patients' own, and staff
  may act for any patient;
- answers with a `StaffAnswer`: plain text (the whole answer, for any channel) plus what a rich
  channel can render: slot choices, the appointment a confirmation is about (its Cancel and
  Reschedule buttons), the day's schedule.

A choice the person can click carries an action token ("b:12:checkup:okafor:1772719200:exam-1"):
compact (a Slack select option holds 150 characters), parsed strictly, and never trusted beyond
naming what to try: the booking checks the slot again and the role is checked again at the click.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from scheduler import availability, staff_users
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.errors import (NotFound, OutsideBookingWindow, SchedulingError,
                              SlotUnavailable)
from scheduler.models import ACTIVE_STATUSES, Appointment, MessageReceipt, Patient, Provider
from scheduler.reminders import ReminderPolicy
from scheduler.patients import (InvalidPhoneNumber, find_or_create_patient, find_patient,
                                normalize_phone, set_patient_name)

from bot.staff import replies as say
from bot.audit import AuditTrail
from bot.understanding.nlu import Understanding, Vocabulary, understand
from bot.patient.replies import when_text
from bot.tools import Caller, SchedulingTools

# What one command may hold: any real command is far shorter.
MAX_COMMAND = 500
# How many slot choices one answer offers (Slack: buttons up to 5, a select menu past that).
CHOICES = 8
FALLBACK_DAYS = 21
RECEIPT_CHANNEL = "slack"

_PHONE_AT_START = re.compile(r"^\s*(\+?\(?\d[\d().\- ]{5,22}\d)(?=\s|$)")
_PHONE_ANYWHERE = re.compile(r"(?<![\w#])\+?\(?\d[\d().\- ]{5,22}\d(?![\w])")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_APPOINTMENT_ID = re.compile(r"^#?(\d{1,9})$")
_NAME = re.compile(r"^[^\W\d_][^\W\d_' .-]*(?:[ '.-]+[^\W\d_]+)*\.?$")
_KEY = r"[a-z0-9][a-z0-9-]{0,63}"
_TOKEN = re.compile(rf"^(?P<op>[bmcrse])(?::(?P<id>\d{{1,12}}))?"
                    rf"(?::(?P<type>{_KEY}):(?P<provider>{_KEY}):(?P<start>\d{{9,11}})"
                    rf":(?P<room>{_KEY})?)?$")
_OPS = {"b": "book", "m": "move", "c": "cancel", "r": "reschedule", "s": "slot", "e": "erase"}
_NEEDS = {"book": (True, True), "move": (True, True), "cancel": (True, False),
          "reschedule": (True, False), "slot": (False, True), "erase": (True, False)}


# --- what an answer holds ------------------------------------------------------------------------

@dataclass(frozen=True)
class AppointmentView:
    id: int
    type_name: str
    provider_key: str
    provider_name: str
    start: datetime
    when: str            # "Thu Mar 5 at 9:00 AM", clinic time
    patient: str         # the name, or "patient #12"
    patient_id: int
    status: str


@dataclass(frozen=True)
class ProviderDay:
    key: str
    name: str
    working: bool
    appointments: tuple[AppointmentView, ...]
    free: int                     # open start times left today for `free_type`
    free_type: str | None         # the provider's shortest kind of visit

    @property
    def booked(self) -> int:
        return len(self.appointments)


@dataclass(frozen=True)
class Choice:
    label: str
    token: str


@dataclass(frozen=True)
class Confirmation:
    """A button that asks before it acts (Slack shows `question` in a dialog)."""

    label: str
    token: str
    question: str


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: str


@dataclass(frozen=True)
class StaffAnswer:
    text: str
    choices: tuple[Choice, ...] = ()
    appointment_id: int | None = None       # a booking confirmation: Cancel / Reschedule
    confirmation: Confirmation | None = None
    schedule: tuple[ProviderDay, ...] | None = None
    day: date | None = None
    export: ExportFile | None = None
    ok: bool = True                         # False: refused or not understood


@dataclass(frozen=True)
class Action:
    """A parsed action token."""

    op: str                         # "book", "move", "cancel", "reschedule", "slot", "erase"
    target: int | None = None       # patient id (book, erase) or appointment id (the others)
    slot: tuple[str, str, int, str | None] | None = None   # type, provider, start epoch, room


def slot_token(op: str, target: int | None, slot: Slot) -> str:
    letter = next(k for k, v in _OPS.items() if v == op)
    head = letter if target is None else f"{letter}:{target}"
    return (f"{head}:{slot.type_key}:{slot.provider_key}:{int(slot.start.timestamp())}:"
            f"{slot.room_key or ''}")


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
    slot = ((match["type"], match["provider"], int(match["start"]), match["room"] or None)
            if has_slot else None)
    return Action(op, int(match["id"]) if match["id"] else None, slot)


class _Used(Exception):
    """A set of choices was used already (a double click, a second click on another choice)."""


# --- parsing helpers shared with the staff conversation --------------------------------------------

def leading_phone(text: str) -> tuple[str | None, str, bool]:
    """(E.164 phone, the rest, whether something phone-like was there) from the start of text."""
    match = _PHONE_AT_START.match(text)
    if match is None:
        return None, text, False
    try:
        return normalize_phone(match.group(1)), text[match.end():].strip(), True
    except InvalidPhoneNumber:
        return None, text[match.end():].strip(), True


def phone_in(text: str) -> tuple[str | None, str, bool]:
    """(E.164 phone, the text without it, whether something phone-like was there), anywhere."""
    for match in _PHONE_ANYWHERE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) < 7 or _ISO_DATE.fullmatch(match.group(0).strip()):
            continue
        rest = (text[:match.start()] + " " + text[match.end():]).strip()
        try:
            return normalize_phone(match.group(0).strip()), rest, True
        except InvalidPhoneNumber:
            return None, rest, True
    return None, text, False


def appointment_id(word: str) -> int | None:
    match = _APPOINTMENT_ID.match(word.strip())
    return int(match.group(1)) if match else None


def valid_name(text: str) -> bool:
    return 2 <= len(text) <= 80 and bool(_NAME.match(text))


class StaffDesk:
    def __init__(self, *, sessions: sessionmaker[Session], clinic: Clinic, vault: Vault,
                 audit: AuditTrail, clock: Callable[[], datetime],
                 reminder_policy: ReminderPolicy = ReminderPolicy()):
        self.sessions, self.clinic, self.vault = sessions, clinic, vault
        self.audit, self.clock = audit, clock
        self.reminder_policy = reminder_policy
        self.vocabulary = Vocabulary.from_clinic(clinic)

    def tools(self, db: Session, caller: Caller, now: datetime) -> SchedulingTools:
        """The scheduling tools for one staff request, in `db`'s transaction."""
        return SchedulingTools(db, self.clinic, self.audit, caller, now,
                               policy=self.reminder_policy)

    # --- who may ----------------------------------------------------------------------------------

    def authorize(self, user_id: str, action: str, *, admin: bool = False,
                  channel: str = "slack") -> Caller | None:
        """The staff caller for this Slack user, or None (refused, and audited)."""
        with self.sessions.begin() as db:
            role = staff_users.role_of(db, user_id)
            if role is not None and (role == "admin" or not admin):
                return Caller(role=role, channel=channel, staff_id=user_id)
            self._refused(db, user_id, action, "not_admin" if role else "not_authorized",
                          channel)
        return None

    def role_of(self, user_id: str) -> str | None:
        with self.sessions() as db:
            return staff_users.role_of(db, user_id)

    def refuse(self, user_id: str, action: str, reason: str, channel: str = "slack") -> None:
        """Audit a request refused before anyone's role was looked at (another workspace)."""
        with self.sessions.begin() as db:
            self._refused(db, user_id, action, reason, channel)

    def _refused(self, db: Session, user_id: str, action: str, reason: str,
                 channel: str) -> None:
        who = user_id if staff_users.valid_slack_user_id(user_id) else "unknown"
        self.audit.record(db, "request_refused", at=self.clock(), channel=channel,
                          actor=f"{channel}:{who}", detail={"action": action, "reason": reason})

    # --- /appt --------------------------------------------------------------------------------------

    def command(self, caller: Caller, text: str) -> StaffAnswer:
        """One `/appt` command (its text after the command name)."""
        if len(text or "") > MAX_COMMAND:
            return StaffAnswer(say.too_long(MAX_COMMAND), ok=False)
        text = " ".join((text or "").split())
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in ("", "help"):
            return StaffAnswer(say.appt_help(self.clinic))
        if word == "wait-list":
            word = "waitlist"
        handler = {"today": self._today, "slots": self._slots, "book": self._book,
                   "cancel": self._cancel, "move": self._move, "find": self._find,
                   "contact": self._contact, "waitlist": self._waitlist}.get(word)
        if handler is None:
            return StaffAnswer(say.unknown_command(word, list(say.APPT_USAGE.values())),
                               ok=False)
        now = self.clock()
        with self.sessions.begin() as db:
            tools = self.tools(db, caller, now)
            return handler(db, tools, rest)

    def _understand(self, text: str, now: datetime) -> Understanding:
        return understand(text, now.astimezone(self.clinic.zone), self.vocabulary)

    def _today(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        provider = None
        if rest:
            provider = self.vocabulary.provider_in(rest)
            if provider is None:
                return StaffAnswer(say.usage(say.APPT_USAGE["today"],
                                             say.unknown_provider(self.clinic)), ok=False)
        day = tools.now.astimezone(self.clinic.zone).date()
        entries = self.schedule(db, day, tools.now, provider)
        return StaffAnswer(say.schedule_text(self.clinic, day, entries),
                           schedule=tuple(entries), day=day)

    def _slots(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        u = self._understand(rest, tools.now)
        if not u.appointment_type:
            return StaffAnswer(say.usage(say.APPT_USAGE["slots"], say.unknown_type(self.clinic)),
                               ok=False)
        problem = self._provider_problem(u)
        if problem:
            return StaffAnswer(say.usage(say.APPT_USAGE["slots"], problem), ok=False)
        day, note = self._day(u, tools.now)
        if note and day is None:
            return StaffAnswer(say.usage(say.APPT_USAGE["slots"], note), ok=False)
        slots, on_day = self.find(tools, u.appointment_type, day, u.provider, u)
        type_name = self.clinic.appointment_type(u.appointment_type).name
        if not slots:
            return StaffAnswer(_join(note, say.no_slots(type_name)))
        text = _join(note, say.slots_found(type_name, day, on_day, len(slots)))
        return StaffAnswer(text, choices=self._choices("slot", None, slots))

    def _book(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        usage = say.APPT_USAGE["book"]
        phone, rest, seen = leading_phone(rest)
        if phone is None:
            return StaffAnswer(say.usage(usage, say.bad_phone() if seen else None), ok=False)
        u = self._understand(rest, tools.now)
        if not u.appointment_type:
            return StaffAnswer(say.usage(usage, say.unknown_type(self.clinic)), ok=False)
        problem = self._provider_problem(u)
        if problem:
            return StaffAnswer(say.usage(usage, problem), ok=False)
        day, note = self._day(u, tools.now)
        if day is None:
            return StaffAnswer(say.usage(usage, note or say.bad_when()), ok=False)
        patient = find_or_create_patient(db, self.vault, phone, now=tools.now)
        db.flush()
        return self.offer_or_book(db, tools, patient, u.appointment_type, day, u, note)

    def _waitlist(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        phone, rest, seen = leading_phone(rest)
        if phone is None:
            return StaffAnswer(say.usage(say.APPT_USAGE["waitlist"],
                                         say.bad_phone() if seen else None), ok=False)
        return self.waitlist(db, tools, phone, self._understand(rest, tools.now))

    def waitlist(self, db: Session, tools: SchedulingTools, phone: str,
                 u: Understanding) -> StaffAnswer:
        """Put a patient on the waitlist for a type: optionally one provider, from a day on,
        and "urgent" (staff may set priority; patients cannot)."""
        usage = say.APPT_USAGE["waitlist"]
        if not u.appointment_type:
            return StaffAnswer(say.usage(usage, say.unknown_type(self.clinic)), ok=False)
        problem = self._provider_problem(u)
        if problem:
            return StaffAnswer(say.usage(usage, problem), ok=False)
        earliest, note = self._day(u, tools.now) if (u.date or u.date_problem) else (None, None)
        if note and earliest is None:
            return StaffAnswer(say.usage(usage, note), ok=False)
        patient = find_or_create_patient(db, self.vault, phone, now=tools.now)
        db.flush()
        priority = "urgent" if u.urgency == "urgent" else "routine"
        entry, created = tools.join_waitlist(u.appointment_type, patient_id=patient.id,
                                             provider_key=u.provider, earliest=earliest,
                                             priority=priority)
        type_name = self.clinic.appointment_type(u.appointment_type).name
        provider = self.clinic.provider(entry.provider_key).name if entry.provider_key else None
        return StaffAnswer(say.waitlisted(self.patient_label(patient), type_name, provider,
                                          entry.priority, entry.earliest, created))

    def offer_or_book(self, db: Session, tools: SchedulingTools, patient: Patient,
                      type_key: str, day: date, u: Understanding,
                      note: str | None = None) -> StaffAnswer:
        """Book at once when an exact time was asked for and is free; else offer choices."""
        slots, on_day = self.find(tools, type_key, day, u.provider, u)
        exact = self._exact(slots, u.time) if on_day else None
        if exact is not None:
            return self.book(db, tools, patient.id, exact)
        type_name = self.clinic.appointment_type(type_key).name
        if not slots:
            return StaffAnswer(_join(note, say.no_slots(type_name)), ok=False)
        text = _join(note, say.choose_slot_for_patient(self.patient_label(patient), type_name,
                                                       day, on_day))
        return StaffAnswer(text, choices=self._choices("book", patient.id, slots))

    def _cancel(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        found = appointment_id(rest) if rest else None
        if found is None:
            return StaffAnswer(say.usage(say.APPT_USAGE["cancel"],
                                         say.bad_appointment_id() if rest else None), ok=False)
        return self.cancel(db, tools, found)

    def _move(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        usage = say.APPT_USAGE["move"]
        word, _, when = rest.partition(" ")
        found = appointment_id(word) if word else None
        if found is None:
            return StaffAnswer(say.usage(usage, say.bad_appointment_id() if word else None),
                               ok=False)
        u = self._understand(when, tools.now)
        day, note = self._day(u, tools.now)
        if day is None:
            return StaffAnswer(say.usage(usage, note or say.bad_when()), ok=False)
        return self.offer_or_move(db, tools, found, day, u, note)

    def offer_or_move(self, db: Session, tools: SchedulingTools, appointment_id_: int,
                      day: date | None, u: Understanding | None,
                      note: str | None = None) -> StaffAnswer:
        try:
            appointment = tools.get_appointment(appointment_id_)
        except NotFound:
            return StaffAnswer(say.no_such_appointment(appointment_id_), ok=False)
        if appointment.status not in ACTIVE_STATUSES or appointment.start_at <= tools.now:
            return StaffAnswer(say.refused("that appointment can no longer be moved"), ok=False)
        type_key = appointment.appointment_type.key
        provider = (u.provider if u and u.provider else appointment.provider.key)
        if provider not in {p.key for p in self.clinic.providers_for(type_key)}:
            provider = appointment.provider.key
        slots, on_day = self.find(tools, type_key, day, provider, u)
        if len(slots) < CHOICES and not (u and u.provider):
            taken = {(s.start, s.provider_key) for s in slots}
            more, _ = self.find(tools, type_key, day, None, u)
            slots = (slots + [s for s in more if (s.start, s.provider_key) not in taken]
                     )[:CHOICES]
            slots.sort(key=lambda s: (s.start, s.provider_key != provider))
            on_day = on_day or any(day is not None and self._local_day(s) == day
                                   for s in slots)
        exact = self._exact(slots, u.time if u else None) if on_day else None
        if exact is not None:
            return self.move(db, tools, appointment.id, exact)
        if not slots:
            return StaffAnswer(_join(note, say.no_slots(appointment.appointment_type.name)),
                               ok=False)
        return StaffAnswer(_join(note, say.choose_slot_for_move(appointment.id, day, on_day)),
                           choices=self._choices("move", appointment.id, slots))

    def _find(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        phone, _, seen = leading_phone(rest)
        if phone is None:
            return StaffAnswer(say.usage(say.APPT_USAGE["find"], say.bad_phone() if seen
                                         else None), ok=False)
        return self.lookup(db, tools, phone)

    def _contact(self, db: Session, tools: SchedulingTools, rest: str) -> StaffAnswer:
        """A patient's name and number by their id (the # a notice gives), to call them: the
        staff channel's notices never carry a number. Shown to the one who asked, audited."""
        word = rest.strip().lstrip("#")
        if not word.isdigit() or len(word) > 12:
            return StaffAnswer(say.usage(say.APPT_USAGE["contact"]), ok=False)
        patient = db.get(Patient, int(word))
        if patient is None:
            return StaffAnswer(say.no_patient_with_id(), ok=False)
        self.audit.record(db, "patient_contact_shown", at=tools.now,
                          channel=tools.caller.channel, actor=tools.caller.actor,
                          patient_id=patient.id)
        return StaffAnswer(say.patient_contact(self.patient_label(patient), patient.id,
                                               self.vault.decrypt(patient.phone_enc),
                                               patient.opted_out_at is not None))

    def lookup(self, db: Session, tools: SchedulingTools, phone: str) -> StaffAnswer:
        patient = find_patient(db, self.vault, phone)
        if patient is None:
            return StaffAnswer(say.no_such_patient(), ok=False)
        self.audit.record(db, "patient_looked_up", at=tools.now, channel=tools.caller.channel,
                          actor=tools.caller.actor, patient_id=patient.id)
        views = [self.view(a) for a in tools.list_appointments(patient.id)]
        return StaffAnswer(say.patient_found(self.patient_label(patient), patient.id,
                                             [say.appointment_line(v) for v in views]))

    # --- clicks ------------------------------------------------------------------------------------

    def act(self, caller: Caller, token: object, *, once: str | None = None) -> StaffAnswer:
        """A clicked choice or button. `once` names the set of choices it came from (a Slack
        message): the first choice taken from a set wins, a second click is refused."""
        action = parse_action(token)
        if action is None or action.op in ("slot", "erase"):
            return StaffAnswer(say.invalid_action(), ok=False)
        now = self.clock()
        try:
            with self.sessions.begin() as db:
                once = once if action.op in ("book", "move") else None
                if once and self._used(db, once):
                    raise _Used()
                tools = self.tools(db, caller, now)
                answer = self._act(db, tools, action)
                if once and answer.ok:
                    self._claim_once(db, once)
                return answer
        except _Used:
            return StaffAnswer(say.offer_used(), ok=False)

    def _act(self, db: Session, tools: SchedulingTools, action: Action) -> StaffAnswer:
        if action.op == "cancel":
            return self.cancel(db, tools, action.target)
        if action.op == "reschedule":
            return self.offer_or_move(db, tools, action.target, None, None)
        slot = self.slot_from(action)
        if slot is None:
            return StaffAnswer(say.invalid_action(), ok=False)
        if action.op == "move":
            return self.move(db, tools, action.target, slot)
        patient = db.get(Patient, action.target)
        if patient is None or patient.erased_at is not None:
            return StaffAnswer(say.invalid_action(), ok=False)
        return self.book(db, tools, patient.id, slot)

    def book_new_patient(self, caller: Caller, token: object, phone_text: str,
                         name: str | None) -> StaffAnswer:
        """A free slot (`/appt slots`) booked for a patient given by phone (and name)."""
        action = parse_action(token)
        slot = self.slot_from(action) if action and action.op == "slot" else None
        if slot is None:
            return StaffAnswer(say.invalid_action(), ok=False)
        phone, rest, _ = leading_phone(phone_text or "")
        if phone is None or rest:
            return StaffAnswer(say.bad_phone(), ok=False)
        name = " ".join((name or "").split()) or None
        if name is not None and not valid_name(name):
            return StaffAnswer(say.bad_name(), ok=False)
        now = self.clock()
        with self.sessions.begin() as db:
            tools = self.tools(db, caller, now)
            patient = find_or_create_patient(db, self.vault, phone, now=now)
            if name and patient.name_enc is None:
                set_patient_name(self.vault, patient, name)
            db.flush()
            return self.book(db, tools, patient.id, slot)

    @staticmethod
    def _once_key(once: str) -> str:
        return f"offer:{once}"[:128]

    def _used(self, db: Session, once: str) -> bool:
        return db.scalar(select(MessageReceipt.id).where(
            MessageReceipt.channel == RECEIPT_CHANNEL,
            MessageReceipt.external_id == self._once_key(once))) is not None

    def _claim_once(self, db: Session, once: str) -> None:
        try:
            with db.begin_nested():
                db.add(MessageReceipt(channel=RECEIPT_CHANNEL, external_id=self._once_key(once),
                                      created_at=self.clock()))
        except IntegrityError:
            raise _Used() from None

    def slot_from(self, action: Action | None) -> Slot | None:
        if action is None or action.slot is None:
            return None
        type_key, provider_key, epoch, room = action.slot
        try:
            kind = self.clinic.appointment_type(type_key)
            self.clinic.provider(provider_key)
        except StopIteration:
            return None
        start = datetime.fromtimestamp(epoch, timezone.utc)
        return Slot(type_key, provider_key, start, start + timedelta(minutes=kind.duration_minutes),
                    room, kind.equipment)

    # --- the changes themselves (in the caller's transaction) ----------------------------------------

    def book(self, db: Session, tools: SchedulingTools, patient_id: int,
             slot: Slot) -> StaffAnswer:
        try:
            appointment = tools.book_appointment(slot, patient_id)
        except (SlotUnavailable, OutsideBookingWindow) as refusal:
            return self._taken(refusal, "book", patient_id)
        except SchedulingError as refusal:
            return StaffAnswer(say.refused(str(refusal)), ok=False)
        return StaffAnswer(say.booked(self.view(appointment)), appointment_id=appointment.id)

    def move(self, db: Session, tools: SchedulingTools, appointment_id_: int,
             slot: Slot) -> StaffAnswer:
        try:
            appointment = tools.reschedule_appointment(appointment_id_, slot)
        except NotFound:
            return StaffAnswer(say.no_such_appointment(appointment_id_), ok=False)
        except (SlotUnavailable, OutsideBookingWindow) as refusal:
            return self._taken(refusal, "move", appointment_id_)
        except SchedulingError as refusal:
            return StaffAnswer(say.refused(str(refusal)), ok=False)
        return StaffAnswer(say.moved(self.view(appointment)), appointment_id=appointment.id)

    def cancel(self, db: Session, tools: SchedulingTools, appointment_id_: int) -> StaffAnswer:
        try:
            view = self.view(tools.get_appointment(appointment_id_))
            tools.cancel_appointment(appointment_id_)
        except NotFound:
            return StaffAnswer(say.no_such_appointment(appointment_id_), ok=False)
        except SchedulingError as refusal:
            return StaffAnswer(say.refused(str(refusal)), ok=False)
        return StaffAnswer(say.cancelled(view))

    def _taken(self, refusal: SchedulingError, op: str, target: int) -> StaffAnswer:
        alternatives = list(getattr(refusal, "alternatives", []))[:CHOICES]
        if isinstance(refusal, OutsideBookingWindow):
            text = say.refused(str(refusal))
        else:
            text = say.slot_taken(len(alternatives))
        return StaffAnswer(text, choices=self._choices(op, target, alternatives), ok=False)

    # --- reading the schedule ------------------------------------------------------------------------

    def find(self, tools: SchedulingTools, type_key: str, day: date | None,
             provider: str | None, u: Understanding | None) -> tuple[list[Slot], bool]:
        """Open slots on `day` (or from today), then the nearest days after it; whether they are
        on the day asked for."""
        search = dict(provider_key=provider, part_of_day=u.part_of_day if u else None,
                      around=u.time if u else None, limit=CHOICES)
        try:
            if day is not None:
                slots = tools.find_slots(type_key, start_date=day, end_date=day, **search)
                if slots:
                    return slots, True
                return tools.find_slots(type_key, start_date=day,
                                        end_date=day + timedelta(days=FALLBACK_DAYS),
                                        **search), False
            return tools.find_slots(type_key, **search), False
        except NotFound:
            return [], False

    def _exact(self, slots: list[Slot], wanted: time | None) -> Slot | None:
        if wanted is None:
            return None
        for slot in slots:
            if slot.start.astimezone(self.clinic.zone).time() == wanted:
                return slot
        return None

    def _local_day(self, slot: Slot) -> date:
        return slot.start.astimezone(self.clinic.zone).date()

    def _choices(self, op: str, target: int | None, slots: list[Slot]) -> tuple[Choice, ...]:
        return tuple(Choice(say.slot_label(s.start, self.clinic.provider(s.provider_key).name,
                                           self.clinic.zone), slot_token(op, target, s))
                     for s in slots[:CHOICES])

    def _provider_problem(self, u: Understanding) -> str | None:
        if u.provider and u.appointment_type and u.provider not in {
                p.key for p in self.clinic.providers_for(u.appointment_type)}:
            return say.provider_does_not_offer(self.clinic.provider(u.provider).name,
                                               self.clinic.appointment_type(
                                                   u.appointment_type).name)
        return None

    def _day(self, u: Understanding, now: datetime) -> tuple[date | None, str | None]:
        """The day asked for and a note to show with the answer (a past day becomes today)."""
        today = now.astimezone(self.clinic.zone).date()
        if u.date_problem == "impossible":
            return None, say.impossible_date()
        if u.date is None:
            # "at 3pm" alone means today; nothing at all is no day (required: the caller asks).
            return (today, None) if (u.time or u.part_of_day) else (None, None)
        if u.date < today:
            return today, say.past_date(u.date)
        return u.date, None

    def schedule(self, db: Session, day: date, now: datetime,
                 provider_key: str | None = None) -> list[ProviderDay]:
        """Each provider's appointments on `day` (clinic time) and how many start times are
        still open for their shortest kind of visit."""
        zone = self.clinic.zone
        start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
        end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
        providers = [p for p in self.clinic.providers
                     if provider_key is None or p.key == provider_key]
        rows = db.scalars(
            select(Appointment).join(Provider, Appointment.provider_id == Provider.id)
            .where(Provider.key.in_([p.key for p in providers]),
                   Appointment.status.in_(ACTIVE_STATUSES),
                   Appointment.start_at >= start, Appointment.start_at < end)
            .order_by(Appointment.start_at, Appointment.id)).unique().all()
        entries = []
        for provider in providers:
            views = tuple(self.view(a) for a in rows if a.provider.key == provider.key)
            working = day.weekday() in provider.hours and day not in provider.days_off
            kinds = sorted((t for t in self.clinic.appointment_types
                            if provider in self.clinic.providers_for(t.key)),
                           key=lambda t: (t.duration_minutes, t.key))
            free, free_type = 0, None
            if working and kinds:
                free_type = kinds[0].name
                try:
                    free = len(availability.find_slots(
                        db, self.clinic, kinds[0].key, now=now, start_date=day, end_date=day,
                        provider_key=provider.key, limit=500))
                except NotFound:
                    free = 0
            entries.append(ProviderDay(provider.key, provider.name, working, views, free,
                                       free_type))
        return entries

    def home(self, caller: Caller) -> tuple[date, list[ProviderDay]]:
        """Today's schedule, for the App Home."""
        now = self.clock()
        day = now.astimezone(self.clinic.zone).date()
        with self.sessions.begin() as db:
            return day, self.schedule(db, day, now)

    def view(self, appointment: Appointment) -> AppointmentView:
        patient = appointment.patient
        return AppointmentView(
            id=appointment.id, type_name=appointment.appointment_type.name,
            provider_key=appointment.provider.key, provider_name=appointment.provider.name,
            start=appointment.start_at, when=when_text(appointment.start_at, self.clinic.zone),
            patient=say.for_attendee(self.patient_label(patient),
                                     self.vault.decrypt(appointment.attendee_enc)),
            patient_id=patient.id,
            status=appointment.status.value)

    def patient_label(self, patient: Patient) -> str:
        name = self.vault.decrypt(patient.name_enc) if patient.name_enc else None
        return say.patient_label(name, patient.id, patient.erased_at is not None,
                                 patient.language)


def _join(note: str | None, text: str) -> str:
    return f"{note} {text}" if note else text

