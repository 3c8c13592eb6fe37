"""The waitlist's urgency levels (scheduler/urgency.py, scheduler/waitlist.py): urgent, soon and
routine in that order, then time waiting; a re-join keeps the higher level; staff's
`set_priority` moves an entry up or down and refuses what makes no sense, changing nothing; and
migration 0013 moves the old ranks (urgent 0, routine 1) to the levels' (1 and 3).

The clock is Wednesday 2026-03-04 09:00 in New York; the freed time is Thursday 03-05.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from scheduler import urgency, waitlist
from scheduler.availability import find_slots
from scheduler.db import alembic_config
from scheduler.errors import NotFound, SchedulingError
from scheduler.models import WaitlistEntry, WaitlistOffer
from scheduler.patients import find_or_create_patient

THU = date(2026, 3, 5)


@pytest.fixture
def patient(sessions, vault, now):
    def make(n: int) -> int:
        with sessions.begin() as db:
            return find_or_create_patient(db, vault, f"+1212555{n:04d}", now=now).id

    return make


def join(sessions, clinic, now, patient_id, priority="routine"):
    with sessions.begin() as db:
        entry, _ = waitlist.join(
            db,
            clinic,
            patient_id=patient_id,
            type_key="checkup",
            now=now,
            created_by=f"patient:{patient_id}",
            priority=priority,
        )
        return entry.id


def entry_of(sessions, entry_id):
    with sessions() as db:
        entry = db.get(WaitlistEntry, entry_id)
        return entry.priority, entry.priority_rank, entry.created_at


def test_the_levels_rank_urgent_soon_routine_then_time_waiting(sessions, demo_clinic, now, patient):
    routine, soon_early, soon_late, urgent = patient(1), patient(2), patient(3), patient(4)
    join(sessions, demo_clinic, now, routine)
    join(sessions, demo_clinic, now + timedelta(minutes=10), soon_early, "soon")
    join(sessions, demo_clinic, now + timedelta(minutes=20), soon_late, "soon")
    join(sessions, demo_clinic, now + timedelta(minutes=30), urgent, "urgent")
    with sessions() as db:
        order = [(e.patient_id, e.priority, e.priority_rank) for e in waitlist.waiting(db)]
    assert order == [
        (urgent, "urgent", 1),
        (soon_early, "soon", 2),
        (soon_late, "soon", 2),
        (routine, "routine", 3),
    ]


def test_a_freed_time_is_offered_to_the_most_urgent_first(sessions, demo_clinic, now, patient):
    routine, soon, urgent = patient(1), patient(2), patient(3)
    join(sessions, demo_clinic, now, routine)
    join(sessions, demo_clinic, now + timedelta(minutes=5), soon, "soon")
    join(sessions, demo_clinic, now + timedelta(minutes=9), urgent, "urgent")
    with sessions.begin() as db:
        (slot,) = find_slots(
            db, demo_clinic, "checkup", now=now, start_date=THU, end_date=THU, limit=1
        )
        waitlist.offer_freed_slot(db, demo_clinic, slot, now=now, at_once=2)
    with sessions() as db:
        offered = {o.patient_id for o in db.scalars(select(WaitlistOffer))}
    assert offered == {urgent, soon}


@pytest.mark.parametrize(
    "first, again, kept",
    [
        ("routine", "soon", "soon"),
        ("soon", "urgent", "urgent"),
        ("urgent", "soon", "urgent"),  # a re-join never lowers the level
        ("soon", "routine", "soon"),
    ],
)
def test_joining_again_keeps_the_higher_level(
    sessions, demo_clinic, now, patient, first, again, kept
):
    me = patient(1)
    entry_id = join(sessions, demo_clinic, now, me, first)
    assert join(sessions, demo_clinic, now + timedelta(hours=1), me, again) == entry_id
    assert entry_of(sessions, entry_id)[:2] == (kept, urgency.RANK[kept])


def test_emergency_is_not_a_level_to_wait_with(sessions, demo_clinic, now, patient):
    with pytest.raises(SchedulingError):
        join(sessions, demo_clinic, now, patient(1), "emergency")
    with sessions() as db:
        assert waitlist.waiting(db) == []


def test_set_priority_moves_an_entry_up_or_down_and_keeps_its_time_waiting(
    sessions, demo_clinic, now, patient
):
    entry_id = join(sessions, demo_clinic, now, patient(1), "soon")
    joined_at = entry_of(sessions, entry_id)[2]
    for level in ("urgent", "routine", "soon"):
        with sessions.begin() as db:
            waitlist.set_priority(db, entry_id, level, now=now + timedelta(hours=1))
        assert entry_of(sessions, entry_id) == (level, urgency.RANK[level], joined_at)


@pytest.mark.parametrize(
    "level, error",
    [("asap", SchedulingError), ("emergency", SchedulingError), ("", SchedulingError)],
)
def test_set_priority_refuses_an_unknown_level_and_changes_nothing(
    sessions, demo_clinic, now, patient, level, error
):
    entry_id = join(sessions, demo_clinic, now, patient(1), "soon")
    with pytest.raises(error), sessions.begin() as db:
        waitlist.set_priority(db, entry_id, level, now=now)
    assert entry_of(sessions, entry_id)[:2] == ("soon", 2)


def test_set_priority_refuses_a_missing_or_closed_entry(sessions, demo_clinic, now, patient):
    entry_id = join(sessions, demo_clinic, now, patient(1))
    with pytest.raises(NotFound), sessions.begin() as db:
        waitlist.set_priority(db, entry_id + 99, "urgent", now=now)
    with sessions.begin() as db:
        waitlist.leave(db, demo_clinic, entry_id, now=now)
    with pytest.raises(SchedulingError) as refused, sessions.begin() as db:
        waitlist.set_priority(db, entry_id, "urgent", now=now)
    assert refused.value.code == "closed"
    assert entry_of(sessions, entry_id)[:2] == ("routine", 3)


def test_migration_0013_moves_the_old_ranks_to_the_levels_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'levels.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0012")
    engine = create_engine(url)
    with engine.begin() as connection:  # SQLite checks no foreign keys here: no patients needed
        for patient_id, priority, rank in ((1, "urgent", 0), (2, "routine", 1)):
            connection.execute(
                text(
                    "INSERT INTO waitlist_entries (patient_id, type_key, priority, priority_rank,"
                    " status, created_by, created_at) VALUES (:p, 'checkup', :priority, :rank,"
                    " 'waiting', 'test', '2026-03-04 14:00:00')"
                ),
                {"p": patient_id, "priority": priority, "rank": rank},
            )

    def ranks():
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT priority, priority_rank FROM waitlist_entries ORDER BY patient_id")
            )
            return [tuple(row) for row in rows]

    command.upgrade(config, "0013")
    assert ranks() == [("urgent", 1), ("routine", 3)]
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE waitlist_entries SET priority = 'soon', priority_rank = 2"
                " WHERE patient_id = 2"
            )
        )
    command.downgrade(config, "0012")
    assert ranks() == [("urgent", 0), ("urgent", 0)]  # the old code knew no "soon": the safer side
    engine.dispose()
