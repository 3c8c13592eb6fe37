"""The waitlist: patients (by text) and the desk (for them) ask to be told of an earlier time,
urgent or routine; a freed time is offered through scheduler/waitlist.py's own machinery (the
tools' cancel and move call `offer_freed_slot`), the offer's text goes out (follow_up), and a YES
is answered as bot/patient/reminder_replies.py answers it (`latest_offer`, `book_appointment`,
`accepted`). `advance` expires unanswered offers and offers the time to the next in line, and
each evening the desk takes stale entries off the list.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.tools import Caller
from scheduler import reminders, waitlist
from scheduler.availability import Slot
from scheduler.errors import SchedulingError
from scheduler.models import Reminder, WaitlistEntry

from .bookings import booked
from .rates import TYPE_WEIGHTS
from .run import Run, weighted
from .turns import conversation

HEARD = ("urgent", "soon")  # what triage heard in a patient's texts (bot/understanding/triage.py)


def on_join(run: Run, db: Session, at: datetime) -> None:
    """Someone asks to be told of an earlier time: a patient by text, or the desk for them."""
    rng, clinic = run.rng, run.clinic
    types = [t for t in clinic.appointment_types if clinic.providers_for(t.key)]
    kind = rng.choices(types, [TYPE_WEIGHTS.get(t.key, 1.0) for t in types])[0]
    way = weighted(rng, {"sms": 55, "portal": 35, "slack": 10})
    person = run.someone(way)
    day = run.local(at).date()
    provider = None
    if rng.random() < 0.2:
        provider = rng.choice(clinic.providers_for(kind.key)).key
    earliest = day + timedelta(days=rng.choice((0, 1, 1, 2)))
    latest = None if rng.random() < 0.4 else earliest + timedelta(days=rng.randint(7, 21))
    if way == "sms":
        heard = rng.choice(HEARD) if rng.random() < 0.3 else None
        caller = Caller(role="patient", channel="sms", patient_id=person.patient_id, urgency=heard)
        priority = "routine"  # the tools rank it as triage heard
    else:
        caller = run.staff_caller(way)
        priority = weighted(rng, {"urgent": 30, "soon": 20, "routine": 50})
    entry, created = run.tools(db, caller, at).join_waitlist(
        kind.key,
        patient_id=person.patient_id,
        provider_key=provider,
        earliest=earliest,
        latest=latest,
        priority=priority,
    )
    if created:
        run.summary.counts["waitlist_joined"] += 1
        run.summary.counts["waitlist_urgent"] += entry.priority == "urgent"
    if way == "sms":
        conversation(run, person, at, 3, None)


def on_offer_reply(run: Run, db: Session, at: datetime, patient: int, yes: bool) -> None:
    """YES or NO to the latest offer, answered as bot/patient/reminder_replies.py does."""
    person = run.by_patient[patient]
    offer = waitlist.latest_offer(db, patient, now=at)
    if offer is None:
        return
    outcome = None
    if not yes:
        waitlist.answered(db, offer, "declined", now=at)
    elif offer.status == "taken":
        waitlist.answered(db, offer, "taken", now=at)
    elif offer.status == "expired" or offer.expires_at <= at:
        waitlist.answered(db, offer, "expired", now=at)
    else:
        tools = run.tools(db, run.patient_caller(person, "sms"), at)
        try:
            appointment = tools.book_appointment(Slot.from_dict(offer.slot))
        except SchedulingError:
            waitlist.answered(db, offer, "taken", now=at)
        else:
            waitlist.accepted(db, offer, appointment, now=at)
            run.summary.counts["offers_accepted"] += 1
            outcome = "booked"
            booked(run, db, at, appointment, person, "sms")
    conversation(run, person, at, 1, outcome, local=True, channel="sms")


def on_advance(run: Run, db: Session, at: datetime) -> None:
    """The waitlist job: unanswered offers expire, their times go to the next in line."""
    waitlist.advance(db, run.clinic, now=at)
    run.schedule_offers(db, at)


def on_housekeeping(run: Run, db: Session, at: datetime, day: date) -> None:
    """The desk takes stale entries off the waitlist: past their last date, or three weeks
    old."""
    stale = db.scalars(
        select(WaitlistEntry.id).where(
            WaitlistEntry.status == "waiting",
            (WaitlistEntry.latest <= day) | (WaitlistEntry.created_at <= at - timedelta(days=21)),
        )
    ).all()
    tools = run.tools(db, run.staff_caller("portal"), at)
    for entry_id in stale:
        tools.leave_waitlist(entry_id)
        run.summary.counts["waitlist_removed"] += 1
    if stale:
        run.schedule_offers(db, at)


def finish(run: Run, db: Session) -> None:
    """When the history ends: offers still out expire (their times have passed), and texts
    still planned are no longer wanted."""
    waitlist.advance(db, run.clinic, now=run.end)
    for row in db.scalars(
        select(Reminder).where(Reminder.status == reminders.PENDING, Reminder.due_at < run.end)
    ):
        row.status, row.last_error_code = reminders.EXPIRED, "not_upcoming"
