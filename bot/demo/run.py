"""One run's state and what every part of it shares: the simulated clock and its event queue,
the seeded random numbers, the invented people, the callers of the scheduling tools, and the
summary of counts.

The parts (plan, bookings, follow_up, waitlist, turns) are functions of a `Run`; each action is
an `Event` on the queue, handled at its moment by the function bot/demo/history.py names for its
kind.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.audit.trail import AuditTrail
from bot.tools import Caller, SchedulingTools
from scheduler import reminders
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.models import Reminder, WaitlistOffer
from scheduler.reminders import ReminderPolicy

from .rates import BEDROCK_FROM, DAYTIME, LEAD_DAYS, MAX_DAYS, STAFF


@dataclass
class Summary:
    """What a run made, in counts (never names or numbers)."""

    first_day: date
    last_day: date
    last_planned: date
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    channels: Counter[str] = field(default_factory=Counter)
    engines: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        c = self.counts
        by = ", ".join(f"{k} {v}" for k, v in self.channels.most_common())
        status = ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items()))
        engines = ", ".join(f"{k} {v}" for k, v in sorted(self.engines.items()))
        return [
            f"visits from {self.first_day} to {self.last_day}, and upcoming ones booked "
            f"before today (to {self.last_planned})",
            f"appointments: {sum(self.statuses.values())} ({status}; "
            f"{c['upcoming']} of the booked upcoming)",
            f"booked via: {by}",
            f"not booked (no free time where wanted): {c['no_slot']} of {c['asked']} asked",
            f"cancelled: {c['cancelled']} ({c['late_cancelled']} less than 24 h before), "
            f"moved: {c['rescheduled']}",
            f"reminders: {c['reminders_sent']} sent, {c['reminders_failed']} failed; "
            f"answers C {c['answer_C']}, R {c['answer_R']}, X {c['answer_X']}",
            f"waitlist: {c['waitlist_joined']} joined ({c['waitlist_urgent']} urgent), "
            f"{c['offers']} offers, {c['offers_accepted']} accepted, "
            f"{c['waitlist_removed']} removed",
            f"attendance: {c['marked']} marked, {c['unmarked']} of the last day left unmarked",
            f"engine turns: {sum(self.engines.values())} ({engines}; {c['fallbacks']} fallbacks)",
            f"patients: {c['patients']} (invented)",
        ]


@dataclass(frozen=True)
class Person:
    patient_id: int
    phone: str
    channel: str  # "sms" (a real patient row) or "web" (the web chat's own)


@dataclass(frozen=True)
class Intent:
    """A visit someone will try to book: the day, who, what, about when, through which way."""

    day: date
    provider: str
    type_key: str
    around: time
    channel: str


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False, default_factory=dict)


def weighted(rng: random.Random, pairs: Any) -> Any:
    """A key of `pairs` (a dict, or (key, weight) pairs) drawn by weight."""
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    return rng.choices([k for k, _ in items], [w for _, w in items])[0]


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


class Run:
    """The state of one history: the clock's queue, the people, and what is pending."""

    def __init__(
        self,
        clinic: Clinic,
        vault: Vault,
        audit: AuditTrail,
        *,
        now: datetime,
        days: int,
        seed: int,
        policy: ReminderPolicy,
    ):
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be 1 to {MAX_DAYS}")
        self.clinic, self.vault, self.audit, self.policy = clinic, vault, audit, policy
        self.rng, self.zone = random.Random(seed), clinic.zone
        self.today = now.astimezone(self.zone).date()
        self.first_day = self.today - timedelta(days=days)
        self.last_day = self.today - timedelta(days=1)
        self.end = self.at(self.today, time(0, 0))  # nothing happens from today on
        self.last_visit_day = self.last_day  # the last day the clinic was open (plan.plan)
        # Upcoming visits are booked too, as far ahead as anyone books (only what was booked
        # before today is: the rest of their story is the clinic's, from today on).
        self.last_planned = self.today + timedelta(days=LEAD_DAYS)
        self.bedrock_from = self.first_day + timedelta(days=int(days * BEDROCK_FROM))
        self.summary = Summary(self.first_day, self.last_day, self.last_planned)
        self.queue: list[Event] = []
        self._seq = 0
        self.people: list[Person] = []  # the SMS patients (staff book for them too)
        self.texting: list[Person] = []  # those of them whose number takes texts
        self.web: list[Person] = []  # the web chat's own patients
        self.by_patient: dict[int, Person] = {}
        self.visit_days: dict[int, set[date]] = {}
        self.quiet: dict[int, tuple[int, int]] = {}  # weekday -> local minutes hardly booked
        self.answer_decided: set[int] = set()  # appointments whose answer is drawn
        self.reminded: set[int] = set()  # appointments a reminder reached
        self.unreachable: dict[int, str] = {}  # SMS patients whose number takes no texts: why
        self.last_offer = 0
        self._advance_at: set[datetime] = set()
        self.turns: list[dict[str, Any]] = []  # engine_turns rows not written yet

    # --- time --------------------------------------------------------------------------------

    def at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.zone).astimezone(UTC)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def push(self, at: datetime, kind: str, **data: Any) -> None:
        if at >= self.end:
            return  # after the history: not part of it
        self._seq += 1
        heapq.heappush(self.queue, Event(at, self._seq, kind, data))

    def pending(self, kind: str, day: date) -> list[Event]:
        """The queued events of a kind on a local day (a scan: for the last day only)."""
        return [e for e in self.queue if e.kind == kind and self.local(e.at).date() == day]

    def daytime(self, day: date) -> datetime:
        start, end = (minutes(t) for t in DAYTIME)
        minute = self.rng.randrange(start, end)
        return self.at(day, time(minute // 60, minute % 60, self.rng.randrange(60)))

    def in_quiet(self, start: datetime, end: datetime) -> bool:
        """Whether a visit from `start` to `end` falls in the empty hours of its weekday."""
        start, end = self.local(start), self.local(end)
        quiet = self.quiet.get(start.weekday())
        if quiet is None:
            return False
        return minutes(start.time()) < quiet[1] and minutes(end.time()) > quiet[0]

    # --- the callers -------------------------------------------------------------------------

    def tools(self, db: Session, caller: Caller, at: datetime) -> SchedulingTools:
        return SchedulingTools(db, self.clinic, self.audit, caller, at, policy=self.policy)

    def patient_caller(self, person: Person, channel: str | None = None) -> Caller:
        return Caller(
            role="patient", channel=channel or person.channel, patient_id=person.patient_id
        )

    @staticmethod
    def staff_caller(channel: str) -> Caller:
        return Caller(role="staff", channel=channel, staff_id=STAFF[channel])

    def someone(self, channel: str, day: date | None = None) -> Person:
        """One of the invented people who would use the channel (the web chat's own on "web",
        a number that takes texts on "sms", anyone for the desk), preferably without a visit on
        `day` already."""
        pool = {"web": self.web, "sms": self.texting}.get(channel, self.people)
        for _ in range(12):
            person = self.rng.choice(pool)
            if day is None or day not in self.visit_days.get(person.patient_id, set()):
                break
        return person

    # --- what the jobs will do with rows an action made --------------------------------------

    def schedule_reminders(self, db: Session, appointment_id: int) -> None:
        """The appointment's planned reminders go out when due (follow_up.on_send)."""
        for reminder_id, due_at in db.execute(
            select(Reminder.id, Reminder.due_at).where(
                Reminder.appointment_id == appointment_id, Reminder.status == reminders.PENDING
            )
        ):
            seconds = self.rng.uniform(3, 45)
            self.push(due_at + timedelta(seconds=seconds), "send", reminder=reminder_id)

    def schedule_offers(self, db: Session, at: datetime) -> None:
        """The offers the last action made: their texts go out, and `advance` runs when they
        expire (waitlist.on_advance)."""
        db.flush()
        rows = db.execute(
            select(WaitlistOffer.id, WaitlistOffer.expires_at, Reminder.id)
            .join(Reminder, Reminder.offer_id == WaitlistOffer.id)
            .where(WaitlistOffer.id > self.last_offer, Reminder.kind == "offer")
            .order_by(WaitlistOffer.id)
        ).all()
        for offer_id, expires, reminder_id in rows:
            self.last_offer = max(self.last_offer, offer_id)
            self.summary.counts["offers"] += 1
            self.advance_when(expires)
            seconds = self.rng.uniform(10, 50)
            self.push(at + timedelta(seconds=seconds), "send", reminder=reminder_id)

    def advance_when(self, expires: datetime) -> None:
        at = expires + timedelta(seconds=30)
        if at not in self._advance_at:
            self._advance_at.add(at)
            self.push(at, "advance")
