"""Reminders in the clinic's terms: when they are due, quiet hours, and planning them with a booking.

Planning (`plan_reminders`, `cancel_reminders`) runs inside the transaction that books, moves or
cancels the appointment (bot/tools.py), so a reminder exists exactly when its appointment does.
Offsets come from the `ReminderPolicy` (REMINDER_OFFSETS, QUIET_HOURS: the caller passes it) or
the appointment type's own `reminder_offsets`; an offset of whole days keeps the wall-clock time
in the patient's zone (a 9:00 visit is reminded at 9:00 the day before, across a daylight-saving
change), a shorter one is elapsed time. A reminder that would land in quiet hours (patient's local
time) moves earlier, to the last allowed minute; none is planned in the past, at or after the
appointment, or for a patient who opted out.

Sending them (claim, send, record) is jobs/reminders/'s; what a patient's C, R or X answers
(`last_reminded`) and what admins list (`reminders_listing`) are queries here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from .clinic import Clinic
from .models import ACTIVE_STATUSES, Appointment, AuditEvent, Patient, Reminder

PENDING, SENDING, SENT, FAILED, CANCELLED, EXPIRED = (
    "pending",
    "sending",
    "sent",
    "failed",
    "cancelled",
    "expired",
)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class ReminderPolicy:
    """REMINDER_OFFSETS and QUIET_HOURS, as the planner and the sender use them."""

    offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    quiet_hours: tuple[time, time] | None = (time(21, 0), time(8, 0))

    def offsets_for(self, clinic: Clinic, type_key: str) -> tuple[timedelta, ...]:
        try:
            own = clinic.appointment_type(type_key).reminder_offsets
        except StopIteration:
            own = None
        if own is None:
            return self.offsets
        return tuple(timedelta(minutes=m) for m in own)


# --- quiet hours ----------------------------------------------------------------------------------


def in_quiet_hours(moment: datetime, zone: ZoneInfo, quiet: tuple[time, time] | None) -> bool:
    if not quiet or quiet[0] == quiet[1]:
        return False
    local = moment.astimezone(zone).time()
    start, end = quiet
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def before_quiet_hours(
    moment: datetime, zone: ZoneInfo, quiet: tuple[time, time] | None
) -> datetime:
    """`moment`, or when it falls in quiet hours the last allowed minute before they began."""
    if quiet is None or not in_quiet_hours(moment, zone, quiet):
        return moment
    start, end = quiet
    local = moment.astimezone(zone)
    day = local.date()
    if start > end and local.time() < end:  # after midnight: the quiet began yesterday
        day = day - DAY
    last = (datetime.combine(day, start) - timedelta(minutes=1)).time()
    last_day = day if start != time(0, 0) else day - DAY
    return _at(last_day, last, zone)


def after_quiet_hours(
    moment: datetime, zone: ZoneInfo, quiet: tuple[time, time] | None
) -> datetime:
    """`moment`, or when it falls in quiet hours the first minute they end."""
    if quiet is None or not in_quiet_hours(moment, zone, quiet):
        return moment
    start, end = quiet
    local = moment.astimezone(zone)
    day = local.date()
    if start > end and local.time() >= start:  # before midnight: they end tomorrow
        day = day + DAY
    return _at(day, end, zone)


def patient_zone(patient: Patient | None, clinic: Clinic) -> ZoneInfo:
    if patient is not None and patient.timezone:
        try:
            return ZoneInfo(patient.timezone)
        except (KeyError, ValueError):
            pass
    return clinic.zone


# --- planning (inside the booking's transaction) ------------------------------------------------


def due_times(
    start: datetime,
    offsets: Iterable[timedelta],
    zone: ZoneInfo,
    quiet: tuple[time, time] | None,
    *,
    now: datetime,
) -> list[datetime]:
    """When an appointment at `start` is reminded: one instant per offset, moved out of quiet
    hours, none in the past or at/after the start, duplicates merged; earliest first."""
    found: set[datetime] = set()
    for offset in offsets:
        if offset % DAY == timedelta(0):
            local = start.astimezone(zone)
            wall = local.replace(tzinfo=None) - offset
            due = wall.replace(tzinfo=zone).astimezone(UTC)
        else:
            due = start - offset
        due = before_quiet_hours(due, zone, quiet)
        if now < due < start:
            found.add(
                due.replace(second=0, microsecond=0) if due.second or due.microsecond else due
            )
    return sorted(found)


_PLAN = insert(Reminder)


def plan_reminders(
    db: Session,
    clinic: Clinic,
    appointment: Appointment,
    type_key: str,
    *,
    now: datetime,
    policy: ReminderPolicy,
    new: bool = False,
) -> int:
    """Plan the reminders of `appointment`, of type `type_key`; returns how many. Its pending
    ones are replaced, unless it is `new` (booked in this transaction: it has none)."""
    if not new:
        cancel_reminders(db, appointment.id, now=now)
    patient = db.get(Patient, appointment.patient_id)
    if patient is None or patient.opted_out_at is not None or patient.phone_enc is None:
        return 0
    zone = patient_zone(patient, clinic)
    rows = [
        {
            "kind": "reminder",
            "appointment_id": appointment.id,
            "patient_id": patient.id,
            "due_at": due,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
        }
        for due in due_times(
            appointment.start_at,
            policy.offsets_for(clinic, type_key),
            zone,
            policy.quiet_hours,
            now=now,
        )
    ]
    if rows:
        # Core, one statement for all: nothing reads these rows back in this transaction.
        db.connection().execute(_PLAN, rows)
    return len(rows)


def cancel_reminders(db: Session, appointment_id: int, *, now: datetime) -> int:
    """Cancel an appointment's reminders not yet sent (cancelled or moved appointment)."""
    statement = (
        update(Reminder)
        .where(Reminder.appointment_id == appointment_id, Reminder.status.in_((PENDING, SENDING)))
        .values(status=CANCELLED, lease_owner=None, last_error_code="replanned")
    )
    db.flush()  # pending reminders (planned in this transaction) are cancelled too
    if any(isinstance(obj, Reminder) for obj in db.identity_map.values()):
        # Reminders loaded in this session: the ORM's UPDATE keeps them in step.
        # `Session.execute` returns a `CursorResult` for an UPDATE (its stubs say `Result`).
        return cast(CursorResult[Any], db.execute(statement)).rowcount or 0
    # None loaded (a patient's cancel): Core on the session's connection, without the ORM's
    # execution overhead, has no in-memory object to leave stale.
    return db.connection().execute(statement).rowcount or 0


def last_reminded(
    db: Session,
    patient_id: int,
    *,
    now: datetime,
    within: timedelta = timedelta(hours=48),
    unanswered: bool = False,
) -> Appointment | None:
    """The appointment of the last reminder sent to a patient within `within`, if it is still
    upcoming and active: what a bare C, R or X answers. `unanswered`: only if the patient has
    sent nothing since (a "yes" after some other exchange is about that exchange)."""
    row = db.execute(
        select(Reminder.appointment_id, Reminder.sent_at)
        .where(
            Reminder.patient_id == patient_id,
            Reminder.kind == "reminder",
            Reminder.status == SENT,
            Reminder.sent_at >= now - within,
        )
        .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    if (
        unanswered
        and db.scalar(
            select(AuditEvent.seq)
            .where(
                AuditEvent.patient_id == patient_id,
                AuditEvent.kind == "message_in",
                AuditEvent.at >= row.sent_at,
            )
            .limit(1)
        )
        is not None
    ):
        return None
    appointment = db.get(Appointment, row[0])
    if (
        appointment is None
        or appointment.status not in ACTIVE_STATUSES
        or appointment.start_at <= now
    ):
        return None
    return appointment


def reminders_listing(db: Session, which: str, *, limit: int = 20) -> list[Reminder]:
    """For the admin desk: the next pending reminders, or the latest failed ones."""
    query = select(Reminder)
    if which == "failed":
        query = query.where(Reminder.status == FAILED).order_by(Reminder.due_at.desc())
    else:
        query = query.where(Reminder.status.in_((PENDING, SENDING))).order_by(Reminder.due_at)
    return list(db.scalars(query.limit(limit)))


def count_by_status(db: Session, which: str) -> int:
    statuses = (FAILED,) if which == "failed" else (PENDING, SENDING)
    return (
        db.scalar(select(func.count()).select_from(Reminder).where(Reminder.status.in_(statuses)))
        or 0
    )
