"""Concurrent bookings on SQLite and PostgreSQL: many threads, each with its own session, released
at once by a barrier. Of colliding bookings exactly one wins, the others get `SlotUnavailable`
(never a raw IntegrityError, a deadlock or "database is locked"), and afterwards no two active
appointments of one provider, room or piece of equipment overlap."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bench.seed import OVERLAPS
from scheduler import booking
from scheduler.availability import Slot, bookable
from scheduler.booking import book, reschedule
from scheduler.clinic_file import parse_clinic
from scheduler.clinic_store import install_clinic
from scheduler.db import make_engine, session_factory
from scheduler.errors import SlotUnavailable
from scheduler.models import Patient

NEW_YORK = ZoneInfo("America/New_York")
THURSDAY = date(2026, 3, 5)
THREADS = 24


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 5, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


@pytest.fixture
def fine_grid_clinic(demo_clinic):
    """The demo clinic with starts every 5 minutes, so colliding bookings can overlap without
    sharing a start time."""
    raw = copy.deepcopy(demo_clinic.raw)
    raw["clinic"]["slot_step_minutes"] = 5
    return parse_clinic(raw)


@pytest.fixture
def db(database_url, fine_grid_clinic):
    engine = make_engine(database_url, pool_size=THREADS + 2)
    factory = session_factory(engine)
    with factory.begin() as session:
        install_clinic(session, fine_grid_clinic)
        session.add_all([Patient() for _ in range(THREADS)])
    yield factory
    engine.dispose()


def race(factory, attempts) -> list[str]:
    """Run each attempt(session) in its own thread and session, all released together; return
    "won", "refused" or the unexpected exception's description, per attempt."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def run(i: int, attempt) -> None:
        session = factory()
        try:
            barrier.wait(timeout=30)
            attempt(session)
            session.commit()
            outcomes[i] = "won"
        except SlotUnavailable:
            session.rollback()
            outcomes[i] = "refused"
        except Exception as exc:  # reported by the assertion, not swallowed
            session.rollback()
            outcomes[i] = f"{type(exc).__name__}: {exc}"
        finally:
            session.close()

    threads = [
        threading.Thread(target=run, args=(i, attempt)) for i, attempt in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def overlaps(factory) -> int:
    with factory() as session:
        return session.execute(OVERLAPS).scalar_one()


@pytest.mark.parametrize("python_check", ["on", "blind"])
def test_of_many_overlapping_bookings_exactly_one_wins(
    db, fine_grid_clinic, now, python_check, monkeypatch
):
    if python_check == "blind":
        # Every thread believes the time is free: only the Occupancy primary key can refuse.
        monkeypatch.setattr(bookable, "_taken", lambda *args, **kwargs: set())

    # Echo visits hold 60 minutes (45 + 15 cleanup); starts 5 minutes apart from 10:00 all
    # overlap one another. Lindqvist and Tanaka alternate: besides their own calendars they
    # collide on the single procedure room and the single ultrasound scanner.
    def attempt(i: int):
        start = at(10, 5 * (i % 12))
        wanted = Slot(
            "cardiac-echo",
            ("lindqvist", "tanaka")[i % 2],
            start,
            start + timedelta(minutes=45),
            "procedure",
            "ultrasound",
        )
        return lambda session: book(
            session, fine_grid_clinic, patient_id=i + 1, slot=wanted, now=now
        )

    outcomes = race(db, [attempt(i) for i in range(THREADS)])
    assert sorted(set(outcomes)) == ["refused", "won"], outcomes
    assert outcomes.count("won") == 1
    assert overlaps(db) == 0


def test_overlapping_bookings_of_one_provider_leave_no_overlap(db, fine_grid_clinic, now):
    # Check-ups (30 + 5 minutes) for Okafor every 5 minutes from 09:00 to 10:55, rooms
    # alternating: several can win (09:00 and 09:35, ...) but never two that overlap.
    def attempt(i: int):
        start = at(9, 0) + timedelta(minutes=5 * i)
        wanted = Slot(
            "checkup",
            "okafor",
            start,
            start + timedelta(minutes=30),
            ("exam-1", "exam-2")[i % 2],
            None,
        )
        return lambda session: book(
            session, fine_grid_clinic, patient_id=i + 1, slot=wanted, now=now
        )

    outcomes = race(db, [attempt(i) for i in range(THREADS)])
    assert set(outcomes) <= {"won", "refused"}, outcomes
    assert 1 <= outcomes.count("won") <= 4  # at most 4 disjoint 35-minute holds in 2 hours
    assert overlaps(db) == 0


def test_bookings_of_different_providers_at_one_time_all_succeed(db, fine_grid_clinic, now):
    # Both ask for exam room 1 at 10:00; whoever comes second is given exam room 2.
    def attempt(provider: str, patient: int):
        wanted = Slot("checkup", provider, at(10), at(10, 30), "exam-1", None)
        return lambda session: book(
            session, fine_grid_clinic, patient_id=patient, slot=wanted, now=now
        )

    outcomes = race(db, [attempt(p, i + 1) for i, p in enumerate(("okafor", "moreau"))])
    assert outcomes == ["won", "won"]
    assert overlaps(db) == 0


def test_reschedule_racing_a_booking_for_the_same_time_lets_one_win(db, fine_grid_clinic, now):
    with db.begin() as session:
        mine = book(
            session,
            fine_grid_clinic,
            patient_id=1,
            now=now,
            slot=Slot("checkup", "okafor", at(9), at(9, 30), "exam-1", None),
        )
    target = Slot("checkup", "okafor", at(14), at(14, 30), "exam-1", None)
    nearby = Slot("checkup", "okafor", at(14, 10), at(14, 40), "exam-2", None)
    outcomes = race(
        db,
        [
            lambda session: reschedule(session, fine_grid_clinic, mine.id, target, now=now),
            lambda session: book(session, fine_grid_clinic, patient_id=2, slot=nearby, now=now),
        ],
    )
    assert sorted(outcomes) == ["refused", "won"], outcomes
    assert overlaps(db) == 0
    with db() as session:
        held = session.execute(
            text("SELECT count(*) FROM occupancy WHERE appointment_id = :id"), {"id": mine.id}
        ).scalar_one()
    assert held == 2 * 7  # moved or not, the appointment holds exactly one visit's cells


def test_reschedule_and_booking_caught_in_a_deadlock_end_with_one_winner(
    db, fine_grid_clinic, now, monkeypatch
):
    # The one order PostgreSQL can deadlock on: a reschedule releases its old cells (locking
    # them until it commits) and takes new ones, while a booking has taken one of the new cells
    # and waits on a released one. The database breaks the cycle by failing one statement; that
    # must end as a refusal, never as a raw error.
    with db.begin() as session:
        mine = book(
            session,
            fine_grid_clinic,
            patient_id=1,
            now=now,
            slot=Slot("checkup", "okafor", at(9), at(9, 30), "exam-1", None),
        )
    released = threading.Event()
    real_occupy, real_taken = booking._occupy, bookable._taken

    def occupy_slowly(*args, **kwargs):
        if threading.current_thread().name == "mover":
            released.set()  # old cells deleted, not yet committed
            time.sleep(0.5)  # ...while the booking takes 08:55 and queues behind 09:00
        return real_occupy(*args, **kwargs)

    def taken_unless_booker(*args, **kwargs):
        # The booker must reach the insert: blind its check, as if it had read before the move.
        return set() if threading.current_thread().name == "booker" else real_taken(*args, **kwargs)

    monkeypatch.setattr(booking, "_occupy", occupy_slowly)
    monkeypatch.setattr(bookable, "_taken", taken_unless_booker)
    outcomes: dict[str, str] = {}

    def attempt(name: str, work) -> None:
        session = db()
        try:
            if name == "booker":
                released.wait(timeout=10)
            work(session)
            session.commit()
            outcomes[name] = "won"
        except SlotUnavailable:
            session.rollback()
            outcomes[name] = "refused"
        except Exception as exc:
            session.rollback()
            outcomes[name] = f"{type(exc).__name__}: {exc}"
        finally:
            session.close()

    threads = [
        threading.Thread(
            name="mover",
            target=attempt,
            args=(
                "mover",
                lambda s: reschedule(
                    s,
                    fine_grid_clinic,
                    mine.id,
                    Slot("checkup", "okafor", at(8, 50), at(9, 20), "exam-1", None),
                    now=now,
                ),
            ),
        ),
        threading.Thread(
            name="booker",
            target=attempt,
            args=(
                "booker",
                lambda s: book(
                    s,
                    fine_grid_clinic,
                    patient_id=2,
                    now=now,
                    slot=Slot("checkup", "okafor", at(8, 55), at(9, 25), "exam-2", None),
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["refused", "won"], outcomes
    assert overlaps(db) == 0
