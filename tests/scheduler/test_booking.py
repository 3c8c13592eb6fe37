"""Booking, cancelling and rescheduling on SQLite and on PostgreSQL (`database_url` runs each test
on both), with the demo clinic. The clock is Wednesday 2026-03-04 09:00 in New York; the visits
are on Thursday 03-05, when all four providers work."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from bench.statements import statements_sent
from scheduler.availability import Slot, bookable, find_slots
from scheduler.booking import book, cancel, reschedule, upcoming_appointments
from scheduler.clinic_store import install_clinic
from scheduler.db import make_engine, session_factory
from scheduler.errors import NotFound, OutsideBookingWindow, SchedulingError, SlotUnavailable
from scheduler.models import (
    CELL_MINUTES,
    Appointment,
    AppointmentStatus,
    Occupancy,
    Patient,
    Provider,
    Resource,
)

NEW_YORK = ZoneInfo("America/New_York")
THURSDAY = date(2026, 3, 5)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def slot(
    clinic, type_key: str, provider_key: str, start: datetime, room_key: str | None = None
) -> Slot:
    kind = clinic.appointment_type(type_key)
    return Slot(
        type_key,
        provider_key,
        start,
        start + timedelta(minutes=kind.duration_minutes),
        room_key,
        kind.equipment,
    )


@pytest.fixture
def db(database_url, demo_clinic):
    """A session factory on SQLite or PostgreSQL with the demo clinic and patients 1..3."""
    engine = make_engine(database_url)
    factory = session_factory(engine)
    with factory.begin() as session:
        install_clinic(session, demo_clinic)
        session.add_all([Patient(), Patient(), Patient()])
    yield factory
    engine.dispose()


@pytest.fixture
def patients(db) -> list[int]:
    with db() as session:
        return list(session.scalars(select(Patient.id).order_by(Patient.id)))


def occupancy(session, appointment_id: int) -> list[tuple[str, int]]:
    return list(
        session.execute(
            select(Occupancy.holder, Occupancy.cell)
            .where(Occupancy.appointment_id == appointment_id)
            .order_by(Occupancy.holder, Occupancy.cell)
        )
    )


def holder_of(session, model, key: str) -> str:
    kind = "provider" if model is Provider else "resource"
    return f"{kind}:{session.scalar(select(model.id).where(model.key == key))}"


def test_booking_holds_provider_room_and_equipment_for_visit_and_buffer(
    db, demo_clinic, now, patients
):
    wanted = slot(demo_clinic, "cardiac-echo", "lindqvist", at(THURSDAY, 9), "procedure")
    with db.begin() as session:
        appointment = book(
            session, demo_clinic, patient_id=patients[0], slot=wanted, now=now, booked_via="sms"
        )
    with db() as session:
        stored = session.get(Appointment, appointment.id)
        assert stored.status == AppointmentStatus.BOOKED and stored.booked_via == "sms"
        assert (stored.provider.key, stored.room.key, stored.equipment.key) == (
            "lindqvist",
            "procedure",
            "ultrasound",
        )
        assert stored.start_at == at(THURSDAY, 9) and stored.end_at == at(THURSDAY, 9, 45)
        assert stored.occupied_until == at(THURSDAY, 10)  # 15 minutes' cleanup after
        rows = occupancy(session, appointment.id)
        first_cell = int(at(THURSDAY, 9).timestamp()) // (CELL_MINUTES * 60)
        expected_holders = {
            holder_of(session, Provider, "lindqvist"),
            holder_of(session, Resource, "procedure"),
            holder_of(session, Resource, "ultrasound"),
        }
        assert {holder for holder, _ in rows} == expected_holders
        assert sorted({cell for _, cell in rows}) == list(range(first_cell, first_cell + 12))
        assert len(rows) == 3 * 12


def test_second_booking_of_same_slot_is_refused(db, demo_clinic, now, patients):
    wanted = slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1")
    with db.begin() as session:
        book(session, demo_clinic, patient_id=patients[0], slot=wanted, now=now)
    with db() as session, pytest.raises(SlotUnavailable):
        book(session, demo_clinic, patient_id=patients[1], slot=wanted, now=now)


def test_overlapping_booking_is_refused_not_just_the_same_start(db, demo_clinic, now, patients):
    with db.begin() as session:
        book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )
    with db() as session:
        for start in (at(THURSDAY, 9, 15), at(THURSDAY, 8, 30), at(THURSDAY, 9, 30)):
            # 09:30 starts inside the first visit's buffer; 08:30 would end inside it with its own.
            with pytest.raises(SlotUnavailable):
                book(
                    session,
                    demo_clinic,
                    patient_id=patients[1],
                    now=now,
                    slot=slot(demo_clinic, "checkup", "okafor", start, "exam-2"),
                )
        book(
            session,
            demo_clinic,
            patient_id=patients[1],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9, 45), "exam-2"),
        )


def test_different_provider_at_the_same_time_gets_another_room(db, demo_clinic, now, patients):
    ten = at(THURSDAY, 10)
    with db.begin() as session:
        first = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", ten, "exam-1"),
        )
        second = book(
            session,
            demo_clinic,
            patient_id=patients[1],
            now=now,
            slot=slot(demo_clinic, "checkup", "moreau", ten, "exam-1"),
        )
        assert (first.room.key, second.room.key) == ("exam-1", "exam-2")
    with db() as session:
        # Both exam rooms are now taken: a third provider is refused for want of a room.
        with pytest.raises(SlotUnavailable):
            book(
                session,
                demo_clinic,
                patient_id=patients[2],
                now=now,
                slot=slot(demo_clinic, "checkup", "lindqvist", ten, "exam-1"),
            )


def test_shared_equipment_conflict_is_refused(db, demo_clinic, now, patients):
    with db.begin() as session:
        book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "abdominal-ultrasound", "tanaka", at(THURSDAY, 10), "exam-1"),
        )
    with db() as session:
        # Another provider, another room, but the same (only) ultrasound scanner.
        with pytest.raises(SlotUnavailable):
            book(
                session,
                demo_clinic,
                patient_id=patients[1],
                now=now,
                slot=slot(
                    demo_clinic, "cardiac-echo", "lindqvist", at(THURSDAY, 9, 30), "procedure"
                ),
            )


def test_refused_booking_carries_nearest_free_alternatives(db, demo_clinic, now, patients):
    wanted = slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 14), "exam-1")
    with db.begin() as session:
        book(session, demo_clinic, patient_id=patients[0], slot=wanted, now=now)
    with db.begin() as session:
        with pytest.raises(SlotUnavailable) as refused:
            book(session, demo_clinic, patient_id=patients[1], slot=wanted, now=now)
        offered = refused.value.alternatives
        assert [s.local_start(NEW_YORK).strftime("%H:%M") for s in offered] == [
            "13:15",
            "14:45",
            "13:00",
        ]
        # The refusal left the transaction usable: an alternative books at once.
        book(session, demo_clinic, patient_id=patients[1], slot=offered[0], now=now)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == 2


@pytest.mark.parametrize(
    "start, reason",
    [
        (datetime(2026, 3, 3, 15, 0, tzinfo=UTC), "already passed"),  # yesterday
        (datetime(2026, 3, 4, 15, 0, tzinfo=UTC), "notice"),  # in 1 hour
        (datetime(2026, 6, 8, 13, 0, tzinfo=UTC), "days ahead"),  # > 90 days
        (datetime(2026, 3, 5, 11, 0, tzinfo=UTC), "does not see"),  # 06:00 local
    ],
)
def test_time_outside_the_booking_window_is_refused(db, demo_clinic, now, patients, start, reason):
    with db() as session:
        with pytest.raises(OutsideBookingWindow, match=reason) as refused:
            book(
                session,
                demo_clinic,
                patient_id=patients[0],
                now=now,
                slot=slot(demo_clinic, "checkup", "okafor", start, "exam-1"),
            )
        assert refused.value.alternatives
        assert session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_booking_for_an_unknown_patient_is_not_found(db, demo_clinic, now):
    with db() as session, pytest.raises(NotFound):
        book(
            session,
            demo_clinic,
            patient_id=999,
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )


def test_a_patient_not_in_the_session_is_checked_with_the_directory_in_one_read(
    db, demo_clinic, now, patients
):
    """A booking for a patient the session has not loaded (the API's, a staff member's) asks
    whether they exist in the same statement that reads the directory; the turn's own patient
    (in the session) costs no query. Either way the appointment comes back tracked, as stored."""
    with db.begin() as session:
        engine = session.get_bind()
        with statements_sent(engine) as sent:
            booked = book(
                session,
                demo_clinic,
                patient_id=patients[0],
                now=now,
                slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
                booked_via="api",
            )
        reads_of_patients = [sql for sql, _ in sent if "FROM patients" in sql]
        assert len(reads_of_patients) == 1
        assert "FROM providers" in reads_of_patients[0]  # the directory's own read
        loaded = session.get(Patient, patients[1])  # held: the identity map is weak
        with statements_sent(engine) as sent:
            book(
                session,
                demo_clinic,
                patient_id=patients[1],
                now=now,
                slot=slot(demo_clinic, "checkup", "lindqvist", at(THURSDAY, 9), "exam-2"),
            )
        assert [sql for sql, _ in sent if "FROM patients" in sql] == []
        assert loaded in session
        assert inspect(booked).persistent and not inspect(booked).modified
        assert booked in session
        assert (booked.patient_id, booked.status, booked.booked_via) == (
            patients[0],
            AppointmentStatus.BOOKED,
            "api",
        )
        assert booked.start_at == at(THURSDAY, 9) and booked.created_at == now
        assert booked.provider.key == "okafor" and booked.room.key == "exam-1"
    with db() as session:
        stored = session.get(Appointment, booked.id)
        assert (stored.patient_id, stored.start_at, stored.status) == (
            patients[0],
            at(THURSDAY, 9),
            AppointmentStatus.BOOKED,
        )


def test_database_refuses_an_overlap_even_when_the_check_misses_it(
    db, demo_clinic, now, patients, monkeypatch
):
    with db.begin() as session:
        first = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )
    # Blind the Python-side check: the Occupancy primary key alone must refuse the overlap.
    monkeypatch.setattr(bookable, "_taken", lambda *args, **kwargs: set())
    with db() as session:
        with pytest.raises(SlotUnavailable):
            book(
                session,
                demo_clinic,
                patient_id=patients[1],
                now=now,
                slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9, 15), "exam-2"),
            )
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1
        holder, cell = occupancy(session, first.id)[0]
    with db() as session, pytest.raises(IntegrityError):
        session.execute(
            insert(Occupancy), [{"holder": holder, "cell": cell, "appointment_id": first.id}]
        )
        session.flush()


def test_cancel_frees_the_slot(db, demo_clinic, now, patients):
    wanted = slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1")
    with db.begin() as session:
        appointment = book(session, demo_clinic, patient_id=patients[0], slot=wanted, now=now)
    later = now + timedelta(minutes=10)
    with db.begin() as session:
        cancelled = cancel(session, appointment.id, now=later, patient_id=patients[0])
        assert cancelled.status == AppointmentStatus.CANCELLED and cancelled.cancelled_at == later
    with db.begin() as session:
        assert occupancy(session, appointment.id) == []
        assert wanted.start in {
            s.start
            for s in find_slots(
                session,
                demo_clinic,
                "checkup",
                now=now,
                provider_key="okafor",
                start_date=THURSDAY,
                limit=10,
            )
        }
        again = book(session, demo_clinic, patient_id=patients[1], slot=wanted, now=now)
        assert again.id != appointment.id


def test_cancelling_twice_is_refused_with_a_clear_message(db, demo_clinic, now, patients):
    with db.begin() as session:
        appointment = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9)),
        )
        cancel(session, appointment.id, now=now)
    with db() as session, pytest.raises(SchedulingError, match="already cancelled"):
        cancel(session, appointment.id, now=now)


def test_patient_cannot_touch_someone_elses_appointment(db, demo_clinic, now, patients):
    with db.begin() as session:
        theirs = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9)),
        )
    with db() as session:
        with pytest.raises(NotFound):
            cancel(session, theirs.id, now=now, patient_id=patients[1])
        with pytest.raises(NotFound):
            reschedule(
                session,
                demo_clinic,
                theirs.id,
                now=now,
                patient_id=patients[1],
                new_slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 11)),
            )
        with pytest.raises(NotFound):
            cancel(session, 12345, now=now)
        assert session.get(Appointment, theirs.id).status == AppointmentStatus.BOOKED


def test_reschedule_moves_the_same_appointment(db, demo_clinic, now, patients):
    with db.begin() as session:
        appointment = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )
    with db.begin() as session:
        moved = reschedule(
            session,
            demo_clinic,
            appointment.id,
            now=now,
            patient_id=patients[0],
            new_slot=slot(demo_clinic, "checkup", "moreau", at(THURSDAY, 11), "exam-2"),
        )
        assert moved.id == appointment.id and moved.provider.key == "moreau"
    with db() as session:
        stored = session.get(Appointment, appointment.id)
        assert stored.start_at == at(THURSDAY, 11) and stored.occupied_until == at(THURSDAY, 11, 35)
        first_cell = int(at(THURSDAY, 11).timestamp()) // (CELL_MINUTES * 60)
        assert sorted({cell for _, cell in occupancy(session, stored.id)}) == list(
            range(first_cell, first_cell + 7)
        )
        assert {h for h, _ in occupancy(session, stored.id)} == {
            holder_of(session, Provider, "moreau"),
            holder_of(session, Resource, "exam-2"),
        }
        assert session.scalar(select(func.count()).select_from(Appointment)) == 1
        # The old time is free again.
        assert at(THURSDAY, 9) in {
            s.start
            for s in find_slots(
                session,
                demo_clinic,
                "checkup",
                now=now,
                provider_key="okafor",
                start_date=THURSDAY,
                limit=10,
            )
        }


def test_reschedule_may_overlap_its_own_old_time(db, demo_clinic, now, patients):
    with db.begin() as session:
        appointment = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )
        moved = reschedule(
            session,
            demo_clinic,
            appointment.id,
            now=now,
            new_slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9, 15), "exam-1"),
        )
        assert moved.start_at == at(THURSDAY, 9, 15)


def test_reschedule_into_a_taken_slot_keeps_the_old_slot(db, demo_clinic, now, patients):
    with db.begin() as session:
        mine = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )
        book(
            session,
            demo_clinic,
            patient_id=patients[1],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 10), "exam-1"),
        )
    with db() as session:
        before = occupancy(session, mine.id)
    with db.begin() as session:
        with pytest.raises(SlotUnavailable) as refused:
            reschedule(
                session,
                demo_clinic,
                mine.id,
                now=now,
                new_slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 10, 15)),
            )
        assert refused.value.alternatives
    with db() as session:
        stored = session.get(Appointment, mine.id)
        assert stored.start_at == at(THURSDAY, 9) and stored.status == AppointmentStatus.BOOKED
        assert occupancy(session, mine.id) == before and len(before) == 2 * 7


def test_reschedule_refused_by_the_database_keeps_the_old_slot(
    db, demo_clinic, now, patients, monkeypatch
):
    with db.begin() as session:
        mine = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9), "exam-1"),
        )
        book(
            session,
            demo_clinic,
            patient_id=patients[1],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 10), "exam-1"),
        )
        before = occupancy(session, mine.id)
    monkeypatch.setattr(bookable, "_taken", lambda *args, **kwargs: set())
    with db.begin() as session:
        with pytest.raises(SlotUnavailable):
            reschedule(
                session,
                demo_clinic,
                mine.id,
                now=now,
                new_slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 10)),
            )
        # Still inside the same transaction: the savepoint undid the half-done move.
        assert occupancy(session, mine.id) == before
        assert session.get(Appointment, mine.id).start_at == at(THURSDAY, 9)


def test_reschedule_refuses_another_appointment_type(db, demo_clinic, now, patients):
    with db.begin() as session:
        appointment = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9)),
        )
        with pytest.raises(SchedulingError, match="keeps the appointment type"):
            reschedule(
                session,
                demo_clinic,
                appointment.id,
                now=now,
                new_slot=slot(demo_clinic, "sick-visit", "okafor", at(THURSDAY, 11)),
            )


def test_past_appointments_cannot_be_cancelled_or_moved(db, demo_clinic, now, patients):
    with db.begin() as session:
        appointment = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9)),
        )
    afterwards = at(THURSDAY, 9, 10)
    with db() as session:
        with pytest.raises(SchedulingError, match="already started"):
            cancel(session, appointment.id, now=afterwards)
        with pytest.raises(SchedulingError, match="already started"):
            reschedule(
                session,
                demo_clinic,
                appointment.id,
                now=afterwards,
                new_slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 15)),
            )


def test_upcoming_appointments_are_active_future_ones_earliest_first(
    db, demo_clinic, now, patients
):
    with db.begin() as session:
        later = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 15)),
        )
        sooner = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 9)),
        )
        dropped = book(
            session,
            demo_clinic,
            patient_id=patients[0],
            now=now,
            slot=slot(demo_clinic, "checkup", "okafor", at(THURSDAY, 11)),
        )
        book(
            session,
            demo_clinic,
            patient_id=patients[1],
            now=now,
            slot=slot(demo_clinic, "checkup", "moreau", at(THURSDAY, 9)),
        )
        cancel(session, dropped.id, now=now)
    with db() as session:
        found = upcoming_appointments(session, patients[0], now=now)
        assert [a.id for a in found] == [sooner.id, later.id]
        assert upcoming_appointments(session, patients[0], now=at(THURSDAY, 10)) == [
            session.get(Appointment, later.id)
        ]
