"""The optimiser as a job: the waiting list against the coming days' free time, and what it finds
offered through the waitlist's own offers (held, texted by the reminder sender, the first YES
books through the normal booking path; scheduler/waitlist.py).

It runs each morning (from `MORNING_HOUR` clinic time, once a day; a process started later the
same day catches up) and, between mornings, within `CHECK_INTERVAL` of a cancellation or a move
(an appointment with `cancelled_at` or `updated_at` after its last run). It plans for today and
`DAYS_AHEAD` days after with a `TIME_LIMIT` solve. Fail closed: when building or solving fails,
the error's kind is logged (never patient data) and nothing is offered.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scheduler import waitlist
from scheduler.clinic import Clinic
from scheduler.models import Appointment
from scheduler.optimise import clinic_data

log = logging.getLogger("scheduler.jobs")

# When the default quiet hours end (scheduler/reminders.py): the offers' texts go out at once,
# and their holds are not stretched over the quiet hours still left.
MORNING_HOUR = 8
CHECK_INTERVAL = 5 * 60  # seconds between looks for cancellations
DAYS_AHEAD = 6
TIME_LIMIT = 5.0


def changed_since(db: Session, since: datetime) -> bool:
    """Was an appointment cancelled, moved or otherwise changed at or after `since` (the last
    run's moment: a change then may not have been seen)? A new booking frees nothing: one
    changed only when it was made does not count."""
    changed = (Appointment.cancelled_at >= since) | (
        (Appointment.updated_at >= since) & (Appointment.updated_at > Appointment.created_at)
    )
    return db.scalar(select(Appointment.id).where(changed).limit(1)) is not None


def offer_plan(
    sessions: sessionmaker[Session],
    clinic: Clinic,
    *,
    now: datetime,
    days: int = DAYS_AHEAD,
    time_limit: float = TIME_LIMIT,
) -> int:
    """Plan today..today+`days` and offer what the plan assigns; the number of offers made."""
    today = now.astimezone(clinic.zone).date()
    try:
        with sessions() as db:
            found = clinic_data.plan(
                db, clinic, today, today + timedelta(days=days), now=now, time_limit=time_limit
            )
    except Exception as error:  # fail closed: nothing offered, the next run tries again
        log.error("optimise: no plan (%s); nothing offered", type(error).__name__)
        return 0
    if not found.proposals:
        return 0
    with sessions.begin() as db:
        offers = waitlist.offer_assignments(
            db, clinic, [(p.entry_id, p.slot) for p in found.proposals], now=now
        )
    log.info(
        "optimise: %d of %d waiting placed (%s, %.1f s), %d offered",
        len(found.proposals),
        found.waiting,
        found.status,
        found.seconds,
        len(offers),
    )
    return len(offers)
