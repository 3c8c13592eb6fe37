"""Staff notices and savepoints: a notice is posted when the outermost transaction commits, never
when a SAVEPOINT is released (the transaction may still roll back). A savepoint that rolls back
drops the notices queued inside it, and only those; a rollback of the whole transaction (or a
session closed without committing) posts nothing and leaves nothing for the next commit.

On SQLite and on PostgreSQL (conftest's `database_url`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.audit.trail import AuditTrail
from bot.staff.notices import StaffNotice, StaffNotifier
from scheduler.db import make_engine, session_factory
from scheduler.models import JobLease


class Undo(Exception):
    """Raised inside a savepoint to roll it back."""


@pytest.fixture
def db_sessions(database_url):
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def posted():
    return []


@pytest.fixture
def notifier(posted):
    notifier = StaffNotifier(posted.append)
    yield notifier
    notifier.drain()


@pytest.fixture
def notify(notifier, now):
    """notify(db, n): queue the notice of patient n."""

    def queue(db, patient_id: int) -> None:
        notifier.red_flag(db, at=now + timedelta(seconds=patient_id), patient_id=patient_id)

    return queue


def told(notifier, posted) -> list[int | None]:
    """The patients whose notices have been posted so far, in order."""
    notifier.drain()  # wait for what was handed to the poster
    return [notice.patient_id for notice in posted]


def test_nothing_is_posted_when_a_savepoint_is_released_only_at_the_outer_commit(
    db_sessions, notifier, notify, posted
):
    with db_sessions.begin() as db:
        notify(db, 1)
        with db.begin_nested():
            notify(db, 2)
        assert told(notifier, posted) == []  # released, but the transaction may still roll back
        with db.begin_nested():
            with db.begin_nested():
                notify(db, 3)
        assert told(notifier, posted) == []
    assert told(notifier, posted) == [1, 2, 3]


def test_a_notice_queued_before_a_rolled_back_savepoint_is_posted_and_one_inside_it_is_not(
    db_sessions, notifier, notify, posted
):
    with db_sessions.begin() as db:
        notify(db, 1)
        with pytest.raises(Undo), db.begin_nested():
            notify(db, 2)
            raise Undo
        assert told(notifier, posted) == []
        notify(db, 3)
    assert told(notifier, posted) == [1, 3]


def test_a_savepoint_refused_by_the_database_drops_only_its_own_notices(
    db_sessions, notifier, notify, posted, now
):
    """As scheduler/booking.py does on a lost race: the flush inside the savepoint fails on a
    key, the savepoint rolls back, the transaction carries on and commits."""
    with db_sessions.begin() as db:
        db.execute(insert(JobLease).values(name="taken", owner="a", until=now))
    with db_sessions.begin() as db:
        notify(db, 1)
        with pytest.raises(IntegrityError), db.begin_nested():
            notify(db, 2)
            db.add(JobLease(name="taken", owner="b", until=now))
            db.flush()
        notify(db, 3)
    assert told(notifier, posted) == [1, 3]


def test_a_rolled_back_savepoint_inside_a_released_one_drops_only_its_own_notices(
    db_sessions, notifier, notify, posted
):
    with db_sessions.begin() as db:
        notify(db, 1)
        with db.begin_nested():
            notify(db, 2)
            with pytest.raises(Undo), db.begin_nested():
                notify(db, 3)
                raise Undo
            notify(db, 4)
        notify(db, 5)
    assert told(notifier, posted) == [1, 2, 4, 5]


def test_a_rolled_back_savepoint_drops_the_notices_of_savepoints_released_inside_it(
    db_sessions, notifier, notify, posted
):
    with db_sessions.begin() as db:
        notify(db, 1)
        with pytest.raises(Undo), db.begin_nested():
            notify(db, 2)
            with db.begin_nested():
                notify(db, 3)
            raise Undo
        with db.begin_nested():
            notify(db, 4)
    assert told(notifier, posted) == [1, 4]


def test_a_full_rollback_posts_nothing_and_leaves_nothing_for_the_next_commit(
    db_sessions, notifier, notify, posted
):
    with db_sessions() as db:
        with pytest.raises(Undo), db.begin():
            notify(db, 1)
            with db.begin_nested():
                notify(db, 2)
            assert told(notifier, posted) == []
            raise Undo
        assert told(notifier, posted) == []
        with db.begin():
            notify(db, 3)
    assert told(notifier, posted) == [3]


def test_one_transaction_after_another_on_the_same_session(db_sessions, notifier, notify, posted):
    """Savepoint marks belong to their transaction: the next one starts afresh."""
    with db_sessions() as db:
        with db.begin():
            notify(db, 1)
            with pytest.raises(Undo), db.begin_nested():
                notify(db, 2)
                raise Undo
        assert told(notifier, posted) == [1]
        with db.begin():
            with db.begin_nested():
                notify(db, 3)
            with pytest.raises(Undo), db.begin_nested():
                notify(db, 4)
                raise Undo
    assert told(notifier, posted) == [1, 3]


def test_a_session_closed_without_committing_leaves_nothing_for_the_next_commit(
    db_sessions, notifier, notify, posted
):
    db = db_sessions()
    try:
        db.begin()
        notify(db, 1)
        db.close()  # the transaction ends uncommitted: no rollback event, but nothing saved
        with db.begin():
            notify(db, 2)
    finally:
        db.close()
    assert told(notifier, posted) == [2]


def test_the_audit_observers_notices_wait_for_the_outer_commit(
    db_sessions, notifier, posted, vault, now
):
    """The notices the audit trail's events raise follow the events: a released savepoint posts
    nothing, a rolled-back one drops its own."""
    audit = AuditTrail(vault)
    notifier.watch(audit)

    def red_flag(db, patient_id: int) -> None:
        audit.record(
            db,
            "red_flag",
            at=now,
            channel="sms",
            actor=f"patient:{patient_id}",
            patient_id=patient_id,
            detail={"category": "cardiac"},
        )

    with db_sessions.begin() as db:
        red_flag(db, 1)
        with db.begin_nested():
            red_flag(db, 2)
        with pytest.raises(Undo), db.begin_nested():
            red_flag(db, 3)
            raise Undo
        assert told(notifier, posted) == []
    assert told(notifier, posted) == [1, 2]
    assert posted[0] == StaffNotice("red_flag", at=now, channel="sms", patient_id=1)
