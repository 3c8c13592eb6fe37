"""The scheduling tools: the only way a conversation (local dialogue or LLM) changes the schedule.

Each tool is bound to one caller and checks what that caller may do: a patient sees and changes
only their own appointments, staff may act for any patient. Every booking change and every refusal
is written to the audit trail in the same transaction as the change itself.

The waitlist's tools (join, leave, and staff's override of an entry's urgency) are in
bot/waitlist_tools.py, part of the same class.

As it audits them, an instance also keeps what it changed (`changes`: "booked", "rescheduled",
"cancelled", "handoff", in order), for the analytics row of the turn (bot/engine/metrics.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import TypedDict

from sqlalchemy.orm import Session

from bot.audit.trail import AuditTrail
from bot.messages import Role
from bot.waitlist_tools import WaitlistTools
from scheduler import availability, booking, reminders, urgency, waitlist
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.errors import NotAllowed, NotFound, SchedulingError
from scheduler.models import Appointment
from scheduler.reminders import ReminderPolicy


@dataclass(frozen=True)
class Caller:
    role: Role
    channel: str
    patient_id: int | None = None  # the patient themself, when role is "patient"
    staff_id: str | None = None  # e.g. a Slack user id, when role is staff or admin
    # The level triage heard in this patient's conversation ("urgent" or "soon": the local rules,
    # bot/understanding/triage.urgency, or the model's own call, `SchedulingTools.heard`), if any:
    # it, not the patient's wish, ranks their waitlist entry and opens the capacity kept for
    # urgent patients to their searches and bookings (scheduler/urgency.py).
    urgency: str | None = None

    def __post_init__(self) -> None:
        # Fail closed: a patient caller without their id would get the staff scope (everyone).
        if self.role == "patient" and self.patient_id is None:
            raise ValueError("a patient caller needs the patient's id")

    @property
    def actor(self) -> str:
        if self.role == "patient":
            return f"patient:{self.patient_id}"
        return f"{self.role}:{self.staff_id}"


# The audit events that are a turn's outcome for the analytics (`SchedulingTools.changes`).
CHANGES = {
    "appointment_booked": "booked",
    "appointment_rescheduled": "rescheduled",
    "appointment_cancelled": "cancelled",
    "handoff_requested": "handoff",
}


class SlotSearch(TypedDict, total=False):
    """What narrows a `SchedulingTools.find_slots` search, built once for several searches."""

    provider_key: str | None
    part_of_day: str | None
    around: time | None
    after: time | None
    before: time | None
    limit: int
    urgency: str | None


class SchedulingTools(WaitlistTools):
    def __init__(
        self,
        db: Session,
        clinic: Clinic,
        audit: AuditTrail,
        caller: Caller,
        now: datetime,
        *,
        policy: ReminderPolicy = ReminderPolicy(),
    ):
        self.db, self.clinic, self.audit, self.caller, self.now = db, clinic, audit, caller, now
        self.policy = policy  # when bookings are reminded (REMINDER_OFFSETS, QUIET_HOURS)
        # What these tools changed, in order, as audited ("booked", "rescheduled", "cancelled",
        # "handoff"): the turn's outcome for the analytics (bot/engine/metrics.py).
        self.changes: list[str] = []

    def heard(self, level: str | None) -> str | None:
        """Triage heard `level` in this conversation (the model's call counts as triage): the
        caller's level becomes the higher of it and what was heard before, never lower (the
        local engine keeps it in the session, the model's tool calls in their memory:
        bot/model/tool_calls.py). Returns the caller's level."""
        if self.caller.role == "patient" and level is not None:
            urgency.check(level)
            raised = urgency.higher(self.caller.urgency, level)
            if raised != self.caller.urgency:
                self.caller = replace(self.caller, urgency=raised)
        return self.caller.urgency

    def _no_emergency(self) -> None:
        """An emergency is never booked or waitlisted: the emergency reply is the answer."""
        if self.caller.urgency == "emergency":
            raise NotAllowed("an emergency is not booked: call emergency services")

    def _level(self, asked: str | None) -> str:
        """The urgency a search or booking runs at (the reserved capacity opens to "urgent"): a
        patient's is what triage heard, never what a request says; staff may name a level (a
        patient they judge urgent); otherwise routine."""
        if self.caller.role != "patient" and asked is not None:
            return asked  # the scheduler refuses an unknown level
        level = self.caller.urgency
        return level if level in urgency.BOOKABLE else "routine"

    def _patient_for(self, patient_id: int | None) -> int:
        """The patient a request acts for: a patient may only act for themself."""
        if self.caller.role == "patient":
            if patient_id not in (None, self.caller.patient_id):
                raise NotAllowed("patients may only act on their own appointments")
            assert self.caller.patient_id is not None  # Caller.__post_init__ requires it
            return self.caller.patient_id
        if patient_id is None:
            raise NotFound("which patient? a phone number is needed")
        return patient_id

    def _scope(self) -> int | None:
        """The patient filter for appointment lookups (None: staff see every patient)."""
        return self.caller.patient_id if self.caller.role == "patient" else None

    def _audit(
        self,
        kind: str,
        *,
        patient_id: int | None = None,
        appointment_id: int | None = None,
        text_: str | None = None,
        **detail: object,
    ) -> None:
        """Record one event; `text_` (a staff member's reason, say) is stored encrypted, never
        in `detail`, which is shown in clear."""
        change = CHANGES.get(kind)
        if change is not None:
            self.changes.append(change)
        self.audit.record(
            self.db,
            kind,
            at=self.now,
            channel=self.caller.channel,
            actor=self.caller.actor,
            patient_id=patient_id,
            appointment_id=appointment_id,
            detail=detail,
            text_=text_,
        )

    def _refused(
        self,
        action: str,
        error: SchedulingError,
        *,
        patient_id: int | None = None,
        appointment_id: int | None = None,
    ) -> None:
        """Audit a refused request under whoever asked: a patient's own id (never the id of the
        patient they tried to act for), or the patient staff acted for."""
        if self.caller.role == "patient":
            patient_id = self.caller.patient_id
        self._audit(
            "request_refused",
            patient_id=patient_id,
            appointment_id=appointment_id,
            action=action,
            reason=type(error).__name__,
        )

    def record_refusal(
        self, action: str, reason: str, *, appointment_id: int | None = None
    ) -> None:
        """Audit a request refused before it reached a tool (an unknown tool, bad arguments, an id
        never issued to this caller). `action` and `reason` are fixed words, never message text."""
        self._audit(
            "request_refused",
            patient_id=self.caller.patient_id,
            appointment_id=appointment_id,
            action=action,
            reason=reason,
        )

    def record_request(
        self, kind: str, *, appointment_id: int | None = None, **detail: str | None
    ) -> None:
        """Audit a request for the clinic team (`handoff_requested`):
        structured fields only (keys, dates, fixed words), never message text."""
        self._audit(
            kind, patient_id=self.caller.patient_id, appointment_id=appointment_id, **detail
        )

    def find_slots(
        self,
        type_key: str,
        *,
        start_date: date | None = None,
        end_date: date | None = None,
        provider_key: str | None = None,
        part_of_day: str | None = None,
        around: time | None = None,
        after: time | None = None,
        before: time | None = None,
        limit: int = 3,
        urgency: str | None = None,
    ) -> list[Slot]:
        """Open times (`availability.find_slots`) at the caller's urgency (`_level`)."""
        return availability.find_slots(
            self.db,
            self.clinic,
            type_key,
            now=self.now,
            start_date=start_date,
            end_date=end_date,
            provider_key=provider_key,
            part_of_day=part_of_day,
            around=around,
            after=after,
            before=before,
            limit=limit,
            urgency=self._level(urgency),
        )

    def book_appointment(
        self,
        slot: Slot,
        patient_id: int | None = None,
        *,
        attendee_enc: bytes | None = None,
        urgency: str | None = None,
    ) -> Appointment:
        """Book `slot`; `attendee_enc`: the encrypted name of whom it is for, when not the
        patient (a child, a parent). A reserved time only at urgency "urgent" (`_level`)."""
        level = self._level(urgency)
        try:
            self._no_emergency()
            target = self._patient_for(patient_id)
            appointment = booking.book(
                self.db,
                self.clinic,
                patient_id=target,
                slot=slot,
                now=self.now,
                booked_via=self.caller.channel,
                attendee_enc=attendee_enc,
                urgency=level,
            )
        except SchedulingError as error:
            self._refused("book", error, patient_id=patient_id)
            raise
        self._audit(
            "appointment_booked",
            patient_id=target,
            appointment_id=appointment.id,
            text_=None,  # the whom-for name stays in the appointment, encrypted: only a flag here
            type=slot.type_key,
            provider=slot.provider_key,
            start=appointment.start_at.isoformat(),
            **({"for_someone": True} if attendee_enc else {}),
            **({"urgency": level} if level != "routine" else {}),
        )
        # Its reminders, in the same transaction as the booking (scheduler/reminders.py).
        reminders.plan_reminders(
            self.db,
            self.clinic,
            appointment,
            slot.type_key,
            now=self.now,
            policy=self.policy,
            new=True,
        )
        return appointment

    def cancel_appointment(self, appointment_id: int) -> Appointment:
        try:
            appointment = booking.cancel(
                self.db, appointment_id, now=self.now, patient_id=self._scope()
            )
        except SchedulingError as error:
            self._refused("cancel", error, appointment_id=appointment_id)
            raise
        self._audit(
            "appointment_cancelled",
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
        )
        reminders.cancel_reminders(self.db, appointment.id, now=self.now)
        self._slot_freed(appointment)
        return appointment

    def reschedule_appointment(
        self, appointment_id: int, slot: Slot, *, urgency: str | None = None
    ) -> Appointment:
        try:
            old = self.get_appointment(appointment_id)
            old_start = old.start_at
            freed = Slot.of(old)
            appointment = booking.reschedule(
                self.db,
                self.clinic,
                appointment_id,
                slot,
                now=self.now,
                patient_id=self._scope(),
                urgency=self._level(urgency),
            )
        except SchedulingError as error:
            self._refused("reschedule", error, appointment_id=appointment_id)
            raise
        self._audit(
            "appointment_rescheduled",
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            old_start=old_start.isoformat(),
            start=appointment.start_at.isoformat(),
            provider=slot.provider_key,
        )
        reminders.plan_reminders(
            self.db, self.clinic, appointment, slot.type_key, now=self.now, policy=self.policy
        )
        self._slot_freed(freed)
        return appointment

    def _slot_freed(self, freed: Appointment | Slot) -> None:
        """A time came free: offer it to the waitlist (the texts go out with the reminders)."""
        if isinstance(freed, Appointment):
            freed = Slot.of(freed)
        waitlist.offer_freed_slot(self.db, self.clinic, freed, now=self.now)

    def confirm_appointment(self, appointment_id: int) -> Appointment:
        """The patient confirmed they will come (a "C" answer to a reminder)."""
        try:
            appointment = self.get_appointment(appointment_id)
        except SchedulingError as error:
            self._refused("confirm", error, appointment_id=appointment_id)
            raise
        appointment.confirmed_at = appointment.confirmed_at or self.now
        appointment.updated_at = self.now
        self._audit(
            "appointment_confirmed",
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
        )
        return appointment

    def mark_attendance(self, appointment_id: int, outcome: str) -> Appointment:
        """Record that a visit which has started was attended ("fulfilled") or a no-show
        ("noshow"): staff only; a visit not started yet is refused."""
        try:
            if self.caller.role == "patient":
                raise NotAllowed("only the clinic records whether a visit was attended")
            appointment, previous = booking.record_attendance(
                self.db, appointment_id, outcome, now=self.now
            )
        except SchedulingError as error:
            self._refused("attendance", error, appointment_id=appointment_id)
            raise
        self._audit(
            "attendance_marked",
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            outcome=appointment.status.value,
            previous=previous.value,
        )
        return appointment

    def list_appointments(self, patient_id: int | None = None) -> list[Appointment]:
        return booking.upcoming_appointments(self.db, self._patient_for(patient_id), now=self.now)

    def get_appointment(self, appointment_id: int) -> Appointment:
        """One appointment the caller may see (NotFound for anyone else's: no hint it exists)."""
        appointment = self.db.get(Appointment, appointment_id)
        scope = self._scope()
        if appointment is None or (scope is not None and appointment.patient_id != scope):
            raise NotFound("no such appointment")
        return appointment
