"""`DemoHistory`: plan the history, make its patients, then replay every event in time order,
one transaction per simulated day; and the counts the command reports.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.audit.trail import AuditTrail
from scheduler.clinic import Clinic
from scheduler.crypto import Vault
from scheduler.models import Appointment, AppointmentStatus
from scheduler.reminders import ReminderPolicy

from . import bookings, follow_up, turns, waitlist
from .patients import make_patients
from .plan import plan
from .rates import DEFAULT_SEED
from .run import Run, Summary

# What handles each kind of event: (run, session, moment, **the event's data).
HANDLERS: dict[str, Callable[..., None]] = {
    "book": bookings.on_book,
    "cancel": bookings.on_cancel,
    "send": follow_up.on_send,
    "answer": follow_up.on_answer,
    "attend": follow_up.on_attend,
    "join": waitlist.on_join,
    "offer_reply": waitlist.on_offer_reply,
    "advance": waitlist.on_advance,
    "housekeeping": waitlist.on_housekeeping,
    "chat": turns.on_chat,
}


class DemoHistory:
    """One run over the `days` before `now`'s date: the same seed, days, clinic and database
    give the same history."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clinic: Clinic,
        vault: Vault,
        audit: AuditTrail,
        *,
        now: datetime,
        days: int,
        seed: int = DEFAULT_SEED,
        policy: ReminderPolicy = ReminderPolicy(),
    ):
        self.sessions = sessions
        self.run_state = Run(clinic, vault, audit, now=now, days=days, seed=seed, policy=policy)

    @property
    def summary(self) -> Summary:
        return self.run_state.summary

    def run(self, progress: Callable[[date], None] | None = None) -> Summary:
        state = self.run_state
        plan(state)
        with self.sessions.begin() as db:
            make_patients(state, db)
        while state.queue:
            day = state.local(state.queue[0].at).date()
            with self.sessions.begin() as db:
                while state.queue and state.local(state.queue[0].at).date() == day:
                    event = heapq.heappop(state.queue)
                    self._handle(db, event.kind, event.at, event.data)
                turns.write_turns(state, db)
            if progress is not None:
                progress(day)
        with self.sessions.begin() as db:
            waitlist.finish(state, db)
        return state.summary

    def _handle(self, db: Session, kind: str, at: datetime, data: dict[str, Any]) -> None:
        HANDLERS[kind](self.run_state, db, at, **data)


def appointment_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Appointment)) or 0


def last_appointment_id(db: Session) -> int:
    return db.scalar(select(func.max(Appointment.id))) or 0


def tally(db: Session, summary: Summary, since_id: int, *, now: datetime) -> None:
    """The appointments the run made, by status and by channel, and how many of the booked
    are still to come, from the database."""
    upcoming = Appointment.start_at >= now
    for status, via, ahead, count in db.execute(
        select(Appointment.status, Appointment.booked_via, upcoming, func.count())
        .where(Appointment.id > since_id)
        .group_by(Appointment.status, Appointment.booked_via, upcoming)
    ):
        value = status.value if isinstance(status, AppointmentStatus) else str(status)
        summary.statuses[value] += count
        summary.channels[via] += count
        summary.counts["upcoming"] += count if ahead and value == "booked" else 0
