"""The staff desk: what clinic staff do to the schedule, whatever tool they use. Framework-free.

Slack's `/appt` commands and buttons (adapters/slack/), a DM with the bot and the staff console
(bot/staff/chat.py) all come here. The desk

- authorizes: a Slack user is staff or admin only if `staff_users` says so; anyone else is
  refused and the attempt audited (`request_refused`, reason `not_authorized`);
- reads and changes the schedule only through `SchedulingTools` bound to a staff `Caller`, so
  the rules, the audit trail and the no-double-booking guarantee are the patients' own, and staff
  may act for any patient;
- finds open slots and offers them as choices, books, moves and cancels, marks a visit that has
  started attended or a no-show (bot/staff/attendance.py), puts a patient on the waitlist and
  looks one up;
- answers with a `StaffAnswer` (bot/staff/answers.py).

It hands the rest to one module each: reading an `/appt` command (bot/staff/commands.py), a click
on a choice (bot/staff/choices.py), the day's schedule (bot/staff/schedule.py), marking attendance
(bot/staff/attendance.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.audit.trail import AuditTrail
from bot.messages import is_role
from bot.staff import choices, commands
from bot.staff import replies as say
from bot.staff.answers import Choice, StaffAnswer

# The Slack adapter (adapters/slack/) imports `ProviderDay`, `StaffAnswer` and `parse_action` from
# this module, as it did when they were defined here.
from bot.staff.choices import (
    Action,
    parse_action,  # noqa: F401
)
from bot.staff.schedule import (
    AppointmentView,
    ProviderDay,
    appointment_view,
    day_schedule,
    patient_label_of,
)
from bot.tools import Caller, SchedulingTools, SlotSearch
from bot.understanding import nlu
from bot.understanding.nlu import Understanding, Vocabulary
from scheduler import staff_users
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.errors import NotFound, OutsideBookingWindow, SchedulingError, SlotUnavailable
from scheduler.models import ACTIVE_STATUSES, Appointment, Patient
from scheduler.patients import find_or_create_patient, find_patient
from scheduler.reminders import ReminderPolicy

# How many slot choices one answer offers (Slack: buttons up to 5, a select menu past that).
CHOICES = 8
BOOK_URGENT = "book_urgent"  # a choice that books at the urgent level (choices.py)
MOVE_URGENT = "move_urgent"  # and one that moves at it
FALLBACK_DAYS = 21


class StaffDesk:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clinic: Clinic,
        vault: Vault,
        audit: AuditTrail,
        clock: Callable[[], datetime],
        reminder_policy: ReminderPolicy = ReminderPolicy(),
    ):
        self.sessions, self.clinic, self.vault = sessions, clinic, vault
        self.audit, self.clock = audit, clock
        self.reminder_policy = reminder_policy
        self.vocabulary = Vocabulary.from_clinic(clinic)

    def tools(self, db: Session, caller: Caller, now: datetime) -> SchedulingTools:
        """The scheduling tools for one staff request, in `db`'s transaction."""
        return SchedulingTools(
            db, self.clinic, self.audit, caller, now, policy=self.reminder_policy
        )

    # --- who may ----------------------------------------------------------------------------------

    def authorize(
        self, user_id: str, action: str, *, admin: bool = False, channel: str = "slack"
    ) -> Caller | None:
        """The staff caller for this Slack user, or None (refused, and audited)."""
        with self.sessions.begin() as db:
            role = staff_users.role_of(db, user_id)
            if role is not None and is_role(role) and (role == "admin" or not admin):
                return Caller(role=role, channel=channel, staff_id=user_id)
            self._refused(db, user_id, action, "not_admin" if role else "not_authorized", channel)
        return None

    def role_of(self, user_id: str) -> str | None:
        with self.sessions() as db:
            return staff_users.role_of(db, user_id)

    def refuse(self, user_id: str, action: str, reason: str, channel: str = "slack") -> None:
        """Audit a request refused before anyone's role was looked at (another workspace)."""
        with self.sessions.begin() as db:
            self._refused(db, user_id, action, reason, channel)

    def _refused(self, db: Session, user_id: str, action: str, reason: str, channel: str) -> None:
        who = user_id if staff_users.valid_slack_user_id(user_id) else "unknown"
        self.audit.record(
            db,
            "request_refused",
            at=self.clock(),
            channel=channel,
            actor=f"{channel}:{who}",
            detail={"action": action, "reason": reason},
        )

    # --- what reaches the desk --------------------------------------------------------------------

    def command(self, caller: Caller, text: str) -> StaffAnswer:
        """One `/appt` command (its text after the command name)."""
        return commands.run(self, caller, text)

    def act(self, caller: Caller, token: object, *, once: str | None = None) -> StaffAnswer:
        """A clicked choice or button. `once` names the set of choices it came from (a Slack
        message): the first choice taken from a set wins, a second click is refused."""
        return choices.act(self, caller, token, once=once)

    def book_new_patient(
        self, caller: Caller, token: object, phone_text: str, name: str | None
    ) -> StaffAnswer:
        """A free slot (`/appt slots`) booked for a patient given by phone (and name)."""
        return choices.book_new_patient(self, caller, token, phone_text, name)

    def slot_from(self, action: Action | None) -> Slot | None:
        """The slot a choice's token names (the staff conversation keeps the tokens it offered)."""
        return choices.slot_of(self.clinic, action)

    def understand(self, text: str, now: datetime) -> Understanding:
        """What staff asked for, read in the clinic's zone and with its vocabulary."""
        return nlu.understand(text, now.astimezone(self.clinic.zone), self.vocabulary)

    # --- offering and changing (in the caller's transaction) --------------------------------------

    def waitlist(
        self, db: Session, tools: SchedulingTools, phone: str, u: Understanding
    ) -> StaffAnswer:
        """Put a patient on the waitlist for a type: optionally one provider, from a day on,
        and "urgent" (staff may set priority; patients cannot)."""
        usage = say.APPT_USAGE["waitlist"]
        if not u.appointment_type:
            return StaffAnswer(say.usage(usage, say.unknown_type(self.clinic)), ok=False)
        problem = self.provider_problem(u)
        if problem:
            return StaffAnswer(say.usage(usage, problem), ok=False)
        earliest, note = (
            self.day_asked(u, tools.now) if (u.date or u.date_problem) else (None, None)
        )
        if note and earliest is None:
            return StaffAnswer(say.usage(usage, note), ok=False)
        patient = find_or_create_patient(db, self.vault, phone, now=tools.now)
        db.flush()
        priority = "urgent" if u.urgency == "urgent" else "routine"
        entry, created = tools.join_waitlist(
            u.appointment_type,
            patient_id=patient.id,
            provider_key=u.provider,
            earliest=earliest,
            priority=priority,
        )
        type_name = self.clinic.appointment_type(u.appointment_type).name
        provider = self.clinic.provider(entry.provider_key).name if entry.provider_key else None
        return StaffAnswer(
            say.waitlisted(
                self.patient_label(patient),
                type_name,
                provider,
                entry.priority,
                entry.earliest,
                created,
            )
        )

    def offer_or_book(
        self,
        db: Session,
        tools: SchedulingTools,
        patient: Patient,
        type_key: str,
        day: date,
        u: Understanding,
        note: str | None = None,
    ) -> StaffAnswer:
        """Book at once when an exact time was asked for and is free; else offer choices. Said
        "urgent": the times kept for urgent patients too, booked at that level."""
        level = "urgent" if u.urgency == "urgent" else None
        slots, on_day = self.find(tools, type_key, day, u.provider, u, urgency=level)
        exact = self._exact(slots, u.time) if on_day else None
        if exact is not None:
            return self.book(db, tools, patient.id, exact, urgency=level)
        type_name = self.clinic.appointment_type(type_key).name
        if not slots:
            return StaffAnswer(say.with_note(note, say.no_slots(type_name)), ok=False)
        text = say.with_note(
            note, say.choose_slot_for_patient(self.patient_label(patient), type_name, day, on_day)
        )
        op = BOOK_URGENT if level else "book"
        return StaffAnswer(text, choices=self.slot_choices(op, patient.id, slots))

    def offer_or_move(
        self,
        db: Session,
        tools: SchedulingTools,
        appointment_id_: int,
        day: date | None,
        u: Understanding | None,
        note: str | None = None,
    ) -> StaffAnswer:
        try:
            appointment = tools.get_appointment(appointment_id_)
        except NotFound:
            return StaffAnswer(say.no_such_appointment(appointment_id_), ok=False)
        if appointment.status not in ACTIVE_STATUSES or appointment.start_at <= tools.now:
            return StaffAnswer(say.refused("that appointment can no longer be moved"), ok=False)
        type_key = appointment.appointment_type.key
        provider = u.provider if u and u.provider else appointment.provider.key
        if provider not in {p.key for p in self.clinic.providers_for(type_key)}:
            provider = appointment.provider.key
        level = "urgent" if u is not None and u.urgency == "urgent" else None
        slots, on_day = self.find(tools, type_key, day, provider, u, urgency=level)
        if len(slots) < CHOICES and not (u and u.provider):
            taken = {(s.start, s.provider_key) for s in slots}
            more, _ = self.find(tools, type_key, day, None, u, urgency=level)
            slots = (slots + [s for s in more if (s.start, s.provider_key) not in taken])[:CHOICES]
            slots.sort(key=lambda s: (s.start, s.provider_key != provider))
            on_day = on_day or any(day is not None and self._local_day(s) == day for s in slots)
        exact = self._exact(slots, u.time if u else None) if on_day else None
        if exact is not None:
            return self.move(db, tools, appointment.id, exact, urgency=level)
        if not slots:
            return StaffAnswer(
                say.with_note(note, say.no_slots(appointment.appointment_type.name)), ok=False
            )
        text = say.with_note(note, say.choose_slot_for_move(appointment.id, day, on_day))
        op = MOVE_URGENT if level else "move"
        return StaffAnswer(text, choices=self.slot_choices(op, appointment.id, slots))

    def lookup(self, db: Session, tools: SchedulingTools, phone: str) -> StaffAnswer:
        patient = find_patient(db, self.vault, phone)
        if patient is None:
            return StaffAnswer(say.no_such_patient(), ok=False)
        self.audit.record(
            db,
            "patient_looked_up",
            at=tools.now,
            channel=tools.caller.channel,
            actor=tools.caller.actor,
            patient_id=patient.id,
        )
        views = [self.view(a) for a in tools.list_appointments(patient.id)]
        return StaffAnswer(
            say.patient_found(
                self.patient_label(patient), patient.id, [say.appointment_line(v) for v in views]
            )
        )

    def book(
        self,
        db: Session,
        tools: SchedulingTools,
        patient_id: int,
        slot: Slot,
        urgency: str | None = None,
    ) -> StaffAnswer:
        """Book `slot`; at `urgency` "urgent" a time kept for urgent patients may be taken."""
        try:
            appointment = tools.book_appointment(slot, patient_id, urgency=urgency)
        except (SlotUnavailable, OutsideBookingWindow) as refusal:
            return self._taken(refusal, BOOK_URGENT if urgency else "book", patient_id)
        except SchedulingError as refusal:
            return StaffAnswer(say.refused(str(refusal)), ok=False)
        return StaffAnswer(say.booked(self.view(appointment)), appointment_id=appointment.id)

    def move(
        self,
        db: Session,
        tools: SchedulingTools,
        appointment_id_: int,
        slot: Slot,
        urgency: str | None = None,
    ) -> StaffAnswer:
        """Move to `slot`; at `urgency` "urgent" a time kept for urgent patients may be taken."""
        try:
            appointment = tools.reschedule_appointment(appointment_id_, slot, urgency=urgency)
        except NotFound:
            return StaffAnswer(say.no_such_appointment(appointment_id_), ok=False)
        except (SlotUnavailable, OutsideBookingWindow) as refusal:
            return self._taken(refusal, MOVE_URGENT if urgency else "move", appointment_id_)
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
        return StaffAnswer(text, choices=self.slot_choices(op, target, alternatives), ok=False)

    # --- finding slots ----------------------------------------------------------------------------

    def find(
        self,
        tools: SchedulingTools,
        type_key: str,
        day: date | None,
        provider: str | None,
        u: Understanding | None,
        urgency: str | None = None,
    ) -> tuple[list[Slot], bool]:
        """Open slots on `day` (or from today), then the nearest days after it; whether they are
        on the day asked for."""
        search = SlotSearch(
            provider_key=provider,
            part_of_day=u.part_of_day if u else None,
            around=u.time if u else None,
            limit=CHOICES,
            urgency=urgency,
        )
        try:
            if day is not None:
                slots = tools.find_slots(type_key, start_date=day, end_date=day, **search)
                if slots:
                    return slots, True
                return tools.find_slots(
                    type_key, start_date=day, end_date=day + timedelta(days=FALLBACK_DAYS), **search
                ), False
            return tools.find_slots(type_key, **search), False
        except NotFound:
            return [], False

    def slot_choices(self, op: str, target: int | None, slots: list[Slot]) -> tuple[Choice, ...]:
        """The slots as choices to click, each with the token that does `op` with it."""
        return tuple(
            Choice(
                say.slot_label(
                    s.start, self.clinic.provider(s.provider_key).name, self.clinic.zone
                ),
                choices.slot_token(op, target, s),
            )
            for s in slots[:CHOICES]
        )

    def _exact(self, slots: list[Slot], wanted: time | None) -> Slot | None:
        if wanted is None:
            return None
        for slot in slots:
            if slot.start.astimezone(self.clinic.zone).time() == wanted:
                return slot
        return None

    def _local_day(self, slot: Slot) -> date:
        return slot.start.astimezone(self.clinic.zone).date()

    def provider_problem(self, u: Understanding) -> str | None:
        """Why the provider asked for cannot do the type asked for, if they cannot."""
        if (
            u.provider
            and u.appointment_type
            and u.provider not in {p.key for p in self.clinic.providers_for(u.appointment_type)}
        ):
            return say.provider_does_not_offer(
                self.clinic.provider(u.provider).name,
                self.clinic.appointment_type(u.appointment_type).name,
            )
        return None

    def day_asked(self, u: Understanding, now: datetime) -> tuple[date | None, str | None]:
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

    # --- the schedule -----------------------------------------------------------------------------

    def schedule(
        self, db: Session, day: date, now: datetime, provider_key: str | None = None
    ) -> list[ProviderDay]:
        return day_schedule(db, self.clinic, self.vault, day, now, provider_key)

    def home(self, caller: Caller) -> tuple[date, list[ProviderDay]]:
        """Today's schedule, for the App Home."""
        now = self.clock()
        day = now.astimezone(self.clinic.zone).date()
        with self.sessions.begin() as db:
            return day, self.schedule(db, day, now)

    def view(self, appointment: Appointment) -> AppointmentView:
        return appointment_view(self.clinic, self.vault, appointment)

    def patient_label(self, patient: Patient) -> str:
        return patient_label_of(self.vault, patient)
