"""Booking, cancelling and rescheduling appointments, each atomic and safe against double-booking.

The guarantee is the database's: a booked appointment holds one `Occupancy` row per cell of
[start, end + buffer) for its provider, its room and its equipment, and the primary key refuses
a second holder of any cell, on SQLite and PostgreSQL alike. The Python check that runs first
(`availability.resolve_slot`) only picks a free room and explains a refusal; when two bookings
race, the insert decides. Each write happens inside a savepoint, so a refused booking leaves the
caller's transaction usable, and a refused reschedule leaves the old time held.

Concurrent bookings take their cells in one global order (holder, then cell), so they queue and
never deadlock. A reschedule can: it releases its old cells (which stay locked until it commits)
before taking new ones. PostgreSQL then breaks the cycle by failing one of the two statements;
that is handled like a lost race.

The functions take the session and the clock; they flush but never commit (the caller does).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, insert, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, lazyload

from .availability import ResolvedSlot, Slot, alternatives, cells, refresh, resolve_slot
from .availability.busy import Directory, read_directory
from .clinic import Clinic
from .errors import NotFound, SchedulingError, SlotUnavailable
from .models import ACTIVE_STATUSES, Appointment, AppointmentStatus, Occupancy, Patient

_DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
# One INSERT ... RETURNING the new row, loaded as an Appointment in the session: the ORM's
# loading of a Core statement's rows, cheaper than its bulk INSERT path (and than the unit of
# work's flush of a new object).
_INSERT_APPOINTMENT = select(Appointment).from_statement(
    insert(Appointment.__table__).returning(*Appointment.__table__.c)
)
_INSERT_CELLS = insert(Occupancy.__table__).returning(Occupancy.__table__.c.cell)


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _lost_race(error: DBAPIError) -> bool:
    """A cell taken by another booking: the key refused it, or the database ended a deadlock."""
    return (
        isinstance(error, IntegrityError)
        or getattr(error.orig, "sqlstate", None) == _DEADLOCK_DETECTED
    )


def _checked_directory(session: Session, patient_id: int) -> Directory | None:
    """`NotFound` unless the patient exists. No query for the turn's own patient (in the
    session: None, the directory is read by `resolve_slot`); else the directory, read with the
    patient's key in one round trip."""
    if session.identity_key(Patient, patient_id) in session.identity_map:
        return None
    directory = read_directory(session, patient_id)
    if directory.patient is None:
        raise NotFound("no such patient")
    return directory


def _occupy(
    session: Session, appointment_id: int, resolved: ResolvedSlot, room_id: int | None
) -> None:
    span = cells(resolved.start, resolved.occupied_until)
    rows = [
        {"holder": holder, "cell": cell, "appointment_id": appointment_id}
        for holder in resolved.holders(room_id)
        for cell in span
    ]
    # With RETURNING, SQLAlchemy sends the rows as one batched multi-row INSERT from a cached
    # statement ("insertmanyvalues"): one round trip, and on PostgreSQL no executemany pipeline
    # for psycopg to abort (and log about) whenever the key refuses a cell. Core, on the
    # session's connection: the ORM's bulk insert path would cost more than the rows.
    session.connection().execute(_INSERT_CELLS, rows)


def _attempts(
    session: Session,
    clinic: Clinic,
    resolved: ResolvedSlot,
    now: datetime,
    ignore_appointment: int | None = None,
    urgency: str = "routine",
) -> Iterator[tuple[str, int] | None]:
    """Yield a room to try (None when the type needs none) until one sticks. After a lost race
    the cells are read again, so a taken provider or equipment ends the attempts with
    `SlotUnavailable` and a taken room moves on to another free room of the kind."""
    for _ in range(len(resolved.rooms) + 2):
        yield resolved.rooms[0] if resolved.rooms else None
        resolved = refresh(
            session,
            clinic,
            resolved,
            now=now,
            ignore_appointment=ignore_appointment,
            urgency=urgency,
        )
    raise SlotUnavailable(
        alternatives=alternatives(session, clinic, resolved.slot, now=now, urgency=urgency)
    )


def book(
    session: Session,
    clinic: Clinic,
    *,
    patient_id: int,
    slot: Slot,
    now: datetime,
    booked_via: str = "web",
    attendee_enc: bytes | None = None,
    urgency: str = "routine",
) -> Appointment:
    """Book `slot` for a patient (for `attendee_enc`, the encrypted name of whom it is for,
    when not the patient). Another free room of the same kind is taken if the slot's own
    was booked meanwhile; otherwise `SlotUnavailable` (or `OutsideBookingWindow` for a time that
    cannot be booked at all) is raised with the nearest free `alternatives`. A time kept for
    urgent patients is booked only at `urgency` "urgent" (else `SlotUnavailable`, code
    "reserved": availability/reserved.py)."""
    directory = _checked_directory(session, patient_id)
    resolved = resolve_slot(session, clinic, slot, now=now, urgency=urgency, directory=directory)
    for room in _attempts(session, clinic, resolved, now, urgency=urgency):
        room_id = room[1] if room else None
        values = {
            "patient_id": patient_id,
            "provider_id": resolved.provider_id,
            "type_id": resolved.type_id,
            "room_id": room_id,
            "equipment_id": resolved.equipment_id,
            "start_at": _utc(resolved.start),
            "end_at": _utc(resolved.end),
            "occupied_until": _utc(resolved.occupied_until),
            "status": AppointmentStatus.BOOKED,
            "booked_via": booked_via,
            "attendee_enc": attendee_enc,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with session.begin_nested():
                appointment: Appointment = session.scalars(_INSERT_APPOINTMENT, values).one()
                _occupy(session, appointment.id, resolved, room_id)
        except DBAPIError as error:
            if not _lost_race(error):
                raise
            continue  # another booking holds one of the cells; see what is left
        return appointment
    raise AssertionError("unreachable: _attempts raises when it runs out")


def _own_appointment(
    session: Session, appointment_id: int, patient_id: int | None, now: datetime, action: str
) -> Appointment:
    """The appointment, locked for the rest of the transaction (on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serializes writers), if the caller may `action` ("cancel", "move")
    it; otherwise `NotFound` or a `SchedulingError` that says why not."""
    appointment = (
        session.scalars(
            select(Appointment)
            .where(Appointment.id == appointment_id)
            .with_for_update(of=Appointment.__table__)
            .execution_options(populate_existing=True)
        )
        .unique()
        .one_or_none()
    )
    # Someone else's appointment is reported exactly like a missing one: its existence is private.
    if appointment is None or (patient_id is not None and appointment.patient_id != patient_id):
        raise NotFound("no such appointment")
    done = {"cancel": "cancelled", "move": "moved"}[action]
    if appointment.status == AppointmentStatus.CANCELLED:
        raise SchedulingError(
            "that appointment is already cancelled"
            if action == "cancel"
            else "that appointment was cancelled, so it cannot be moved",
            code="already_cancelled",
        )
    if appointment.status not in ACTIVE_STATUSES:
        raise SchedulingError(
            f"that appointment is marked {appointment.status.value}, so it cannot be {done}",
            code="closed",
        )
    if appointment.start_at <= now:
        raise SchedulingError(
            f"that appointment has already started, so it can no longer be {done}", code="started"
        )
    return appointment


def cancel(
    session: Session, appointment_id: int, *, now: datetime, patient_id: int | None = None
) -> Appointment:
    """Cancel an upcoming appointment and free its time, in the caller's transaction. With
    `patient_id`, only that patient's appointment can be cancelled (`NotFound` otherwise)."""
    appointment = _own_appointment(session, appointment_id, patient_id, now, "cancel")
    session.execute(delete(Occupancy).where(Occupancy.appointment_id == appointment.id))
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = now
    appointment.updated_at = now
    session.flush()
    return appointment


def reschedule(
    session: Session,
    clinic: Clinic,
    appointment_id: int,
    new_slot: Slot,
    *,
    now: datetime,
    patient_id: int | None = None,
    urgency: str = "routine",
) -> Appointment:
    """Move an appointment to `new_slot`, keeping its row (and id). The old cells are released and
    the new ones taken in one savepoint: if the new time is taken, `SlotUnavailable` is raised
    and the appointment still holds its old time. Reserved time: as `book`, at `urgency`."""
    appointment = _own_appointment(session, appointment_id, patient_id, now, "move")
    if appointment.appointment_type.key != new_slot.type_key:
        raise SchedulingError(
            "a reschedule keeps the appointment type; book a new appointment "
            "for a different kind of visit",
            code="other_type",
        )
    # Its own cells do not count against the new time: moving 15 minutes later is fine.
    resolved = resolve_slot(
        session, clinic, new_slot, now=now, ignore_appointment=appointment.id, urgency=urgency
    )
    for room in _attempts(
        session, clinic, resolved, now, ignore_appointment=appointment.id, urgency=urgency
    ):
        room_id = room[1] if room else None
        try:
            with session.begin_nested():
                session.execute(delete(Occupancy).where(Occupancy.appointment_id == appointment.id))
                _occupy(session, appointment.id, resolved, room_id)
                appointment.provider_id = resolved.provider_id
                appointment.room_id = room_id
                appointment.equipment_id = resolved.equipment_id
                appointment.start_at = _utc(resolved.start)
                appointment.end_at = _utc(resolved.end)
                appointment.occupied_until = _utc(resolved.occupied_until)
                appointment.updated_at = now
                session.flush()
        except DBAPIError as error:
            if not _lost_race(error):
                raise
            continue
        # The foreign keys changed under the loaded relationships: load them again when used.
        session.expire(appointment, ["provider", "room", "equipment"])
        return appointment
    raise AssertionError("unreachable: _attempts raises when it runs out")


ATTENDANCE = {"fulfilled": AppointmentStatus.FULFILLED, "noshow": AppointmentStatus.NOSHOW}
# What an outcome may be recorded on: a visit that held its time (and a correction of either).
_MARKABLE = (*ACTIVE_STATUSES, AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW)


def record_attendance(
    session: Session, appointment_id: int, outcome: str, *, now: datetime
) -> tuple[Appointment, AppointmentStatus]:
    """Record whether a visit that has started was attended ("fulfilled") or not ("noshow");
    returns the appointment and its status before. A visit not started yet, a cancelled one or
    an unknown outcome is refused with a `SchedulingError` that says why. Its cells are left
    alone: the time it held has passed or is passing."""
    status = ATTENDANCE.get(outcome)
    if status is None:
        raise SchedulingError("the outcome is fulfilled or noshow", code="bad_outcome")
    appointment = (
        session.scalars(
            select(Appointment)
            .where(Appointment.id == appointment_id)
            .with_for_update(of=Appointment.__table__)
            .execution_options(populate_existing=True)
        )
        .unique()
        .one_or_none()
    )
    if appointment is None:
        raise NotFound("no such appointment")
    if appointment.status not in _MARKABLE:
        raise SchedulingError(
            f"that appointment is marked {appointment.status.value}, so its attendance "
            "cannot be recorded",
            code="closed",
        )
    if appointment.start_at > now:
        raise SchedulingError(
            "that visit has not started yet, so its attendance cannot be recorded",
            code="not_started",
        )
    previous = appointment.status
    appointment.status = status
    appointment.updated_at = now
    session.flush()
    return appointment, previous


# Built once. The type and provider come joined (every list names them); the patient (the
# caller's, already loaded), the room and the equipment only if asked for. The statuses are
# compared one by one: an IN list would be rendered again at every execution.
_UPCOMING = (
    select(Appointment)
    .options(
        lazyload(Appointment.patient), lazyload(Appointment.room), lazyload(Appointment.equipment)
    )
    .where(
        Appointment.patient_id == bindparam("patient_id"),
        or_(*(Appointment.status == status for status in ACTIVE_STATUSES)),
        Appointment.start_at >= bindparam("now"),
    )
    .order_by(Appointment.start_at, Appointment.id)
)


def upcoming_appointments(session: Session, patient_id: int, *, now: datetime) -> list[Appointment]:
    """A patient's active appointments starting from `now`, earliest first."""
    return list(session.scalars(_UPCOMING, {"patient_id": patient_id, "now": now}).unique())
