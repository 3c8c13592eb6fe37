"""What each of the model's tool calls does, through the `SchedulingTools` (bot/tools.py) bound to
the person texting, so the model can never do more than that person could: a patient sees and
changes only their own appointments, whatever a message asks for.

The arguments have been checked against the declared schema (bot/model/tool_runner.py); here
they are checked for meaning (a real date, not past, within the booking horizon) and anything
refused raises `Refused`, which the runner audits and answers with a result of status "error"
the model can read and recover from. What the model never sees: database ids, the patient's name
or phone number; times and appointments go to it under the opaque ids of bot/model/tool_ids.py.
What a call changed is kept as an `Outcome`, told to the patient in the clinic's own words, in
their language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from bot import i18n
from bot.model.tool_ids import IssuedIds
from bot.patient import replies
from bot.tools import SchedulingTools, SlotSearch
from scheduler import urgency
from scheduler.availability import Slot
from scheduler.clinic import Clinic
from scheduler.errors import OutsideBookingWindow, SchedulingError, SlotUnavailable
from scheduler.models import Appointment

# How far past a requested day find_slots looks when that day has nothing open (as the dialogue).
FALLBACK_DAYS = 21
SLOTS_PER_SEARCH = 3
MAX_LISTED = 10


class Refused(Exception):
    """A tool request answered with an error result. `audited` when SchedulingTools already
    wrote the refusal; otherwise `ToolRunner.run` audits it with `reason`."""

    def __init__(
        self,
        message: str,
        *,
        alternatives: list[dict] | None = None,
        audited: bool = False,
        reason: str = "InvalidArguments",
    ):
        super().__init__(message)
        self.alternatives = alternatives or []
        self.audited = audited
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """What one successful tool call changed: the sentence that tells the patient, and a short
    fact for the conversation's summary."""

    kind: str  # "booked", "rescheduled", "cancelled", "waitlist", "handoff"
    reply: str
    fact: str


class ToolCalls:
    """The tools the model may call, one method each (named as the tool), for one turn of one
    conversation: `memory` is the conversation's, `today` the clinic's today."""

    def __init__(self, clinic: Clinic, memory: dict[str, Any], *, today: date):
        self.clinic, self.today, self.memory = clinic, today, memory
        # Tool results are language-free (English labels, ISO dates) whatever the patient
        # speaks; only the sentences that tell the patient what changed are in their language.
        self.language = i18n.current()
        self.ids = IssuedIds(memory)
        self.outcomes: list[Outcome] = []
        self.listed = False

    # --- ids the model may use -------------------------------------------------------------

    def _slot_id(self, slot: Slot) -> str:
        label = replies.slot_label(
            slot.start, self.clinic.provider(slot.provider_key).name, self.clinic.zone
        )
        return self.ids.slot_id(slot, label)

    def _appointment_id(self, appointment: Appointment) -> str:
        return self.ids.appointment_id(appointment.id, self._describe(appointment))

    def _slot(self, token: str) -> Slot:
        slot = self.ids.slot(token)
        if slot is None:
            raise Refused(
                "unknown slot_id: call find_slots and use one of the ids it returns",
                reason="UnknownSlotId",
            )
        return slot

    def _appointment(self, token: str) -> int:
        appointment_id = self.ids.appointment(token)
        if appointment_id is None:
            raise Refused(
                "unknown appointment_id: call list_appointments and use one of its ids",
                reason="UnknownAppointmentId",
            )
        return appointment_id

    def _hear(self, tools: SchedulingTools, said: str | None = None) -> None:
        """The model's call on how soon the patient must be seen counts as triage: it raises
        the caller's level (never lowers it) for this call, and is kept in the conversation's
        memory for the calls and turns after it."""
        level = urgency.higher(said, self.memory.get("urgency"))
        if level is not None:
            self.memory["urgency"] = level
        tools.heard(level)

    # --- the tools -------------------------------------------------------------------------

    def find_slots(self, tools: SchedulingTools, args: dict[str, str]) -> dict[str, Any]:
        self._hear(tools)  # the level heard so far opens what is kept for urgent patients
        kind = self.clinic.appointment_type(args["appointment_type"])
        first = self._day(args.get("date"), "date", kind.max_days_ahead) or self.today
        last = self._day(args.get("end_date"), "end_date", kind.max_days_ahead)
        if last is not None and last < first:
            raise Refused("end_date is before date")
        provider = args.get("provider")
        if provider and provider not in {p.key for p in self.clinic.providers_for(kind.key)}:
            raise Refused(
                f"{provider} does not offer {kind.key}; providers who do: "
                + ", ".join(p.key for p in self.clinic.providers_for(kind.key))
            )
        around = _clock_time(args.get("time"))
        search = SlotSearch(
            provider_key=provider,
            part_of_day=args.get("part_of_day"),
            around=around,
            limit=SLOTS_PER_SEARCH,
        )
        try:
            slots = tools.find_slots(kind.key, start_date=first, end_date=last or first, **search)
            on_requested_days = bool(slots)
            if not slots and last is None:
                slots = tools.find_slots(
                    kind.key,
                    start_date=first,
                    end_date=first + timedelta(days=FALLBACK_DAYS),
                    **search,
                )
        except SchedulingError as error:
            raise Refused(str(error), reason=type(error).__name__) from None
        found = [self._describe_slot(s) for s in slots]
        answer: dict[str, Any] = {"slots": found, "on_requested_days": on_requested_days}
        if not found:
            answer["note"] = (
                f"no openings in the next {FALLBACK_DAYS} days; suggest the "
                "waitlist or calling the clinic"
            )
        return answer

    def book_appointment(self, tools: SchedulingTools, args: dict[str, str]) -> dict[str, Any]:
        slot = self._slot(args["slot_id"])
        self._hear(tools)
        with self._refused_as("not booked"):
            appointment = tools.book_appointment(slot)
        type_name, when, provider = self._changed(
            args,
            appointment,
            "booked",
            lambda: replies.booked(*self._names(appointment), self.clinic, appointment.id),
            "booked {type} {when} with {provider}",
        )
        return {
            "status": "booked",
            "appointment_id": self._appointment_id(appointment),
            "type": type_name,
            "when": when,
            "provider": provider,
        }

    def cancel_appointment(self, tools: SchedulingTools, args: dict[str, str]) -> dict[str, Any]:
        appointment_id = self._appointment(args["appointment_id"])
        try:
            appointment = tools.get_appointment(appointment_id)
        except SchedulingError as refusal:
            raise Refused(f"not cancelled: {refusal}", reason=type(refusal).__name__) from None
        description = self._describe(appointment)
        told = self._told(lambda: replies.cancelled(self._describe(appointment)))
        try:
            tools.cancel_appointment(appointment_id)
        except SchedulingError as refusal:
            raise Refused(f"not cancelled: {refusal}", audited=True) from None
        self.outcomes.append(Outcome("cancelled", told, f"cancelled {description}"))
        self.ids.forget("appts", args["appointment_id"])
        return {"status": "cancelled", "appointment": description}

    def reschedule_appointment(
        self, tools: SchedulingTools, args: dict[str, str]
    ) -> dict[str, Any]:
        appointment_id = self._appointment(args["appointment_id"])
        slot = self._slot(args["slot_id"])
        self._hear(tools)
        with self._refused_as("not moved"):
            appointment = tools.reschedule_appointment(appointment_id, slot)
        type_name, when, provider = self._changed(
            args,
            appointment,
            "rescheduled",
            lambda: replies.moved(*self._names(appointment), self.clinic),
            "moved {type} to {when} with {provider}",
        )
        self._appointment_id(appointment)  # its label now says the new time
        return {"status": "rescheduled", "type": type_name, "when": when, "provider": provider}

    @contextmanager
    def _refused_as(self, what: str) -> Iterator[None]:
        """A booking change the tools refused, as the model's error result (already audited)."""
        try:
            yield
        except (SlotUnavailable, OutsideBookingWindow) as refusal:
            raise Refused(
                f"{what}: {refusal}", alternatives=self._alternatives(refusal), audited=True
            ) from None
        except SchedulingError as refusal:
            raise Refused(f"{what}: {refusal}", audited=True) from None

    def _changed(
        self,
        args: dict[str, str],
        appointment: Appointment,
        kind: str,
        tell: Callable[[], str],
        summary: str,
    ) -> tuple[str, str, str]:
        """Record a booking change the tools made (the patient is told in the clinic's words,
        in their language)."""
        type_name, _, provider = self._names(appointment)
        when = replies.when_text(appointment.start_at, self.clinic.zone)
        self.outcomes.append(
            Outcome(
                kind, self._told(tell), summary.format(type=type_name, when=when, provider=provider)
            )
        )
        self.ids.forget("slots", args["slot_id"])
        return type_name, when, provider

    def list_appointments(self, tools: SchedulingTools, args: dict[str, str]) -> dict[str, Any]:
        appointments = tools.list_appointments()[:MAX_LISTED]
        self.listed = bool(appointments)
        return {
            "appointments": [
                {
                    "appointment_id": self._appointment_id(a),
                    "type": a.appointment_type.name,
                    "when": replies.when_text(a.start_at, self.clinic.zone),
                    "date": a.start_at.astimezone(self.clinic.zone).date().isoformat(),
                    "provider": a.provider.name,
                }
                for a in appointments
            ]
        }

    def join_waitlist(self, tools: SchedulingTools, args: dict[str, str]) -> dict[str, Any]:
        self._hear(tools, args.get("urgency"))
        kind = self.clinic.appointment_type(args["appointment_type"])
        earliest = self._day(args.get("earliest_date"), "earliest_date", kind.max_days_ahead)
        latest = self._day(args.get("latest_date"), "latest_date", kind.max_days_ahead)
        if earliest and latest and latest < earliest:
            raise Refused("latest_date is before earliest_date")
        # scheduler/waitlist.py: offered by text when a matching slot frees up.
        try:
            entry, created = tools.join_waitlist(
                kind.key, provider_key=args.get("provider"), earliest=earliest, latest=latest
            )
        except SchedulingError as refusal:
            raise Refused(f"not on the waitlist: {refusal}", audited=True) from None
        said = self._told(
            lambda: (
                replies.waitlist_joined(replies.type_name(kind), self.clinic, level=entry.priority)
                if created
                else replies.waitlist_already(replies.type_name(kind))
            )
        )
        self.outcomes.append(Outcome("waitlist", said, f"joined the {kind.name} waitlist"))
        return {
            "status": "joined" if created else "already_waiting",
            "booked": False,
            "note": "when a matching time opens the patient is texted an offer and replies "
            "YES to take it; nothing is booked now",
        }

    def hand_off_to_staff(self, tools: SchedulingTools, args: dict[str, str]) -> dict[str, Any]:
        tools.record_request(
            "handoff_requested", reason=args["reason"], urgency=args.get("urgency", "routine")
        )
        self.outcomes.append(
            Outcome(
                "handoff",
                self._told(lambda: replies.handoff_recorded(self.clinic)),
                f"asked staff to follow up ({args['reason']})",
            )
        )
        return {
            "status": "recorded",
            "note": "the clinic team will follow up with the patient; for anything that "
            f"cannot wait the patient should call {self.clinic.display_phone}",
        }

    # --- reading arguments, naming what the patient has ---------------------------------

    def _day(self, raw: str | None, field_name: str, max_days_ahead: int) -> date | None:
        if raw is None:
            return None
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise Refused(f"{field_name} is not a real date") from None
        if day < self.today:
            raise Refused(f"{field_name} has passed; today is {self.today.isoformat()}")
        horizon = self.today + timedelta(days=max_days_ahead)
        if day > horizon:
            raise Refused(
                f"{field_name} is too far ahead: this type can be booked until "
                f"{horizon.isoformat()}"
            )
        return day

    def _told(self, tell: Callable[[], str]) -> str:
        """A sentence for the patient, in their language."""
        with i18n.speaking(self.language):
            return tell()

    def _names(self, appointment: Appointment) -> tuple[str, datetime, str]:
        """The appointment's type, start and provider, named as the current language does."""
        kind, provider = appointment.appointment_type, appointment.provider
        return (
            replies.type_name_of(self.clinic, kind.key, kind.name),
            appointment.start_at,
            replies.provider_name_of(self.clinic, provider.key, provider.name),
        )

    def _describe(self, appointment: Appointment) -> str:
        return replies.appointment_line(*self._names(appointment), self.clinic.zone)

    def _describe_slot(self, slot: Slot) -> dict[str, str]:
        local = slot.start.astimezone(self.clinic.zone)
        return {
            "slot_id": self._slot_id(slot),
            "when": replies.when_text(slot.start, self.clinic.zone),
            "date": local.date().isoformat(),
            "provider": self.clinic.provider(slot.provider_key).name,
        }

    def _alternatives(self, refusal: SlotUnavailable | OutsideBookingWindow) -> list[dict]:
        return [self._describe_slot(s) for s in refusal.alternatives[:SLOTS_PER_SEARCH]]


def _clock_time(raw: str | None) -> time | None:
    if raw is None:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise Refused("time is not a time of day (HH:MM, 24-hour)") from None
