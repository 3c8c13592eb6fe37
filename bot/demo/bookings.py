"""Booking, cancelling and moving, through `SchedulingTools` with the caller of the channel: a
patient on "sms" or "web" for themself, the desk on "portal", "slack" or "api" for a patient.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.tools import SchedulingTools
from scheduler.availability import Slot
from scheduler.errors import SchedulingError
from scheduler.models import ACTIVE_STATUSES, Appointment

from .rates import CANCEL_RATE, DAYTIME, LATE_CANCEL_SHARE, PATIENT_CHANNELS, STAFF
from .run import Intent, Person, Run
from .turns import conversation

SEARCH_LIMIT = 10  # times asked for at once (the empty hours' ones are passed over)


def on_book(run: Run, db: Session, at: datetime, i: Intent) -> None:
    """Someone books: the provider they asked for that day, else anyone that day, else the
    nearest days after it (as the dialogue offers), never in a provider's empty hours."""
    rng = run.rng
    run.summary.counts["asked"] += 1
    person = run.someone(i.channel, i.day)
    staff = i.channel not in PATIENT_CHANNELS
    caller = run.staff_caller(i.channel) if staff else run.patient_caller(person)
    tools = run.tools(db, caller, at)
    searches: list[tuple[date, date, str | None]] = [(i.day, i.day, i.provider)]
    searches.append((i.day, i.day, None))
    last = min(i.day + timedelta(days=3), run.last_planned)
    if i.day < last:
        searches.append((i.day + timedelta(days=1), last, None))
    slots: list[Slot] = []
    for first, until, provider in searches:
        try:
            found = tools.find_slots(
                i.type_key,
                start_date=first,
                end_date=until,
                provider_key=provider,
                around=i.around,
                limit=SEARCH_LIMIT,
            )
        except SchedulingError:
            found = []
        slots = [s for s in found if not run.in_quiet(s.start, s.end)]
        if slots:
            break
    if not slots:
        run.summary.counts["no_slot"] += 1
        if not staff:
            conversation(run, person, at, rng.randint(2, 4), None)
        return
    slot = slots[0] if rng.random() < 0.7 else rng.choice(slots[:3])
    try:
        appointment = tools.book_appointment(slot, person.patient_id if staff else None)
    except SchedulingError:
        run.summary.counts["no_slot"] += 1
        return
    if not staff:
        conversation(run, person, at, rng.randint(3, 6), "booked")
    booked(run, db, at, appointment, person, i.channel)


def booked(
    run: Run, db: Session, at: datetime, appointment: Appointment, person: Person, channel: str
) -> None:
    """After a booking: its reminders go out when due, it may be cancelled, it is attended."""
    rng = run.rng
    run.summary.counts["booked"] += 1
    day = run.local(appointment.start_at).date()
    run.visit_days.setdefault(person.patient_id, set()).add(day)
    run.schedule_reminders(db, appointment.id)
    _attend_after(run, appointment)
    if rng.random() < CANCEL_RATE:
        cancel = _cancel_time(run, at, appointment.start_at)
        if cancel is not None:
            by = channel
            if channel in PATIENT_CHANNELS and rng.random() < 0.2:
                by = "portal"  # they phoned the desk
            run.push(cancel, "cancel", appointment=appointment.id, by=by)


def _attend_after(run: Run, appointment: Appointment) -> None:
    """The desk marks the visit a while after it ends (follow_up.on_attend)."""
    run.push(
        appointment.end_at + timedelta(minutes=run.rng.uniform(5, 75)),
        "attend",
        appointment=appointment.id,
        start=appointment.start_at,
    )


def _cancel_time(run: Run, booked_at: datetime, start: datetime) -> datetime | None:
    rng = run.rng
    late = rng.random() < LATE_CANCEL_SHARE
    first = max(booked_at + timedelta(minutes=10), start - timedelta(hours=24 if late else 24 * 20))
    last = start - (timedelta(minutes=30) if late else timedelta(hours=24))
    if last <= first:
        first, last = booked_at + timedelta(minutes=10), start - timedelta(minutes=30)
        if last <= first:
            return None
    moment = first + (last - first) * rng.random()
    local = run.local(moment)
    lo, hi = DAYTIME
    if not lo <= local.time() <= hi:  # people cancel in the daytime
        moment = run.daytime(local.date())
    return moment if first <= moment <= last else None


def on_cancel(run: Run, db: Session, at: datetime, appointment: int, by: str) -> None:
    """The patient (or the desk for them) cancels; the freed time goes to the waitlist."""
    row = db.get(Appointment, appointment)
    if row is None or row.status not in ACTIVE_STATUSES or row.start_at <= at:
        return
    person = run.by_patient.get(row.patient_id)
    if by in PATIENT_CHANNELS and person is not None:
        caller = run.patient_caller(person, by)
    else:
        caller = run.staff_caller(by if by in STAFF else "portal")
    try:
        run.tools(db, caller, at).cancel_appointment(appointment)
    except SchedulingError:
        return
    count_cancelled(run, row, at)
    if by in PATIENT_CHANNELS and person is not None:
        conversation(run, person, at, 3, "cancelled")
    run.schedule_offers(db, at)


def count_cancelled(run: Run, row: Appointment, at: datetime) -> None:
    run.summary.counts["cancelled"] += 1
    if row.start_at - at < timedelta(hours=24):
        run.summary.counts["late_cancelled"] += 1


def move(
    run: Run,
    db: Session,
    at: datetime,
    tools: SchedulingTools,
    appointment: Appointment,
    person: Person,
) -> None:
    """An "R": the reschedule flow, to another day in the next ten (or nothing suits)."""
    day = run.local(appointment.start_at).date()
    last = min(day + timedelta(days=10), run.last_planned)
    slots: list[Slot] = []
    if day < last:
        try:
            slots = tools.find_slots(
                appointment.appointment_type.key,
                start_date=day + timedelta(days=1),
                end_date=last,
                provider_key=appointment.provider.key,
                around=run.local(appointment.start_at).time(),
                limit=3,
            )
        except SchedulingError:
            slots = []
    if not slots:
        conversation(run, person, at, 2, None, local=True)
        return
    moved = tools.reschedule_appointment(appointment.id, run.rng.choice(slots))
    run.summary.counts["rescheduled"] += 1
    run.visit_days.setdefault(person.patient_id, set()).add(run.local(moved.start_at).date())
    conversation(run, person, at, 3, "rescheduled", local=True)
    run.schedule_reminders(db, moved.id)
    _attend_after(run, moved)
    run.schedule_offers(db, at)
