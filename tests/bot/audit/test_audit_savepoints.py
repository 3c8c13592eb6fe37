"""The audit buffer and savepoints: a SAVEPOINT that rolls back drops only the events recorded
inside it; the events before it (and after it) are committed with the transaction, and the chain
verifies. A released savepoint keeps its events; a full rollback writes nothing.

On SQLite and on PostgreSQL (conftest's `database_url`)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot import logfiles
from bot.audit.trail import AuditTrail
from scheduler.db import make_engine, session_factory
from scheduler.models import AuditEvent, JobLease


class Undo(Exception):
    """Raised inside a savepoint to roll it back."""


@pytest.fixture
def db_sessions(database_url):
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def audit(vault):
    return AuditTrail(vault)


@pytest.fixture
def record(audit, now):
    """record(db, "step"): one event, its step in `detail` and in its text."""
    count = iter(range(1000))

    def add(db, step: str) -> None:
        audit.record(
            db,
            "message_in",
            at=now + timedelta(seconds=next(count)),
            channel="web",
            actor="patient:1",
            detail={"step": step},
            text_=f"text of {step}",
        )

    return add


def committed(db_sessions, vault) -> list[str]:
    """The steps written, in chain order; each text is the one its event was recorded with."""
    with db_sessions() as db:
        rows = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
        for row in rows:
            assert vault.decrypt(row.text_enc) == f"text of {row.detail['step']}"
        return [row.detail["step"] for row in rows]


def verified(db_sessions, audit, checked: int) -> None:
    with db_sessions() as db:
        result = audit.verify(db)
    assert result.ok, result
    assert result.checked == checked


def test_events_before_a_rolled_back_savepoint_are_kept_and_those_inside_it_dropped(
    db_sessions, audit, vault, record
):
    with db_sessions.begin() as db:
        record(db, "before")
        record(db, "before, too")
        with pytest.raises(Undo), db.begin_nested():
            record(db, "inside")
            raise Undo
        record(db, "after")
    assert committed(db_sessions, vault) == ["before", "before, too", "after"]
    verified(db_sessions, audit, checked=3)


def test_a_savepoint_refused_by_the_database_drops_only_its_own_events(
    db_sessions, audit, vault, record, now
):
    """As scheduler/booking.py does on a lost race: the ORM flush inside the savepoint fails on a
    key, the savepoint rolls back, the transaction carries on and commits."""
    with db_sessions.begin() as db:
        db.execute(insert(JobLease).values(name="taken", owner="a", until=now))
    with db_sessions.begin() as db:
        record(db, "inbound message")
        with pytest.raises(IntegrityError), db.begin_nested():
            record(db, "booked (lost the race)")
            db.add(JobLease(name="taken", owner="b", until=now))
            db.flush()
        record(db, "offered other times")
    assert committed(db_sessions, vault) == ["inbound message", "offered other times"]
    verified(db_sessions, audit, checked=2)


def test_a_rolled_back_savepoint_that_recorded_nothing_keeps_every_event(
    db_sessions, audit, vault, record, now
):
    with db_sessions.begin() as db:
        db.execute(insert(JobLease).values(name="taken", owner="a", until=now))
    with db_sessions.begin() as db:
        record(db, "before")
        with pytest.raises(IntegrityError), db.begin_nested():
            db.execute(insert(JobLease).values(name="taken", owner="b", until=now))
    assert committed(db_sessions, vault) == ["before"]
    verified(db_sessions, audit, checked=1)


def test_events_inside_a_released_savepoint_are_kept_in_order(db_sessions, audit, vault, record):
    with db_sessions.begin() as db:
        record(db, "before")
        with db.begin_nested():
            record(db, "inside")
        record(db, "after")
    assert committed(db_sessions, vault) == ["before", "inside", "after"]
    verified(db_sessions, audit, checked=3)


def test_a_rolled_back_savepoint_inside_a_released_one_drops_only_its_own_events(
    db_sessions, audit, vault, record
):
    with db_sessions.begin() as db:
        record(db, "outer")
        with db.begin_nested():
            record(db, "savepoint 1")
            with pytest.raises(Undo), db.begin_nested():
                record(db, "savepoint 2")
                raise Undo
            record(db, "savepoint 1, after 2")
        record(db, "outer, after")
    assert committed(db_sessions, vault) == [
        "outer",
        "savepoint 1",
        "savepoint 1, after 2",
        "outer, after",
    ]
    verified(db_sessions, audit, checked=4)


def test_a_rolled_back_savepoint_drops_the_events_of_savepoints_released_inside_it(
    db_sessions, audit, vault, record
):
    with db_sessions.begin() as db:
        record(db, "outer")
        with pytest.raises(Undo), db.begin_nested():
            record(db, "savepoint 1")
            with db.begin_nested():
                record(db, "savepoint 2 (released)")
            record(db, "savepoint 1, after 2")
            raise Undo
        with db.begin_nested():
            record(db, "savepoint 3")
        record(db, "outer, after")
    assert committed(db_sessions, vault) == ["outer", "savepoint 3", "outer, after"]
    verified(db_sessions, audit, checked=3)


def test_one_transaction_after_another_on_the_same_session(db_sessions, audit, vault, record):
    """Savepoint marks belong to their transaction: the next one starts afresh."""
    with db_sessions() as db:
        with db.begin():
            record(db, "first")
            with pytest.raises(Undo), db.begin_nested():
                record(db, "first's savepoint")
                raise Undo
        with db.begin():
            with db.begin_nested():
                record(db, "second's savepoint")
            with pytest.raises(Undo), db.begin_nested():
                record(db, "second's other savepoint")
                raise Undo
    assert committed(db_sessions, vault) == ["first", "second's savepoint"]
    verified(db_sessions, audit, checked=2)


def test_a_full_rollback_writes_nothing_and_leaves_nothing_for_the_next_commit(
    db_sessions, audit, vault, record
):
    with db_sessions() as db:
        with pytest.raises(Undo), db.begin():
            record(db, "outer")
            with db.begin_nested():
                record(db, "released savepoint")
            raise Undo
        assert committed(db_sessions, vault) == []
        with db.begin():
            pass  # commits nothing left over
    assert committed(db_sessions, vault) == []


def test_a_rollback_of_the_session_with_a_savepoint_open_writes_nothing(
    db_sessions, audit, vault, record
):
    db = db_sessions()
    try:
        db.begin()
        record(db, "outer")
        db.begin_nested()
        record(db, "inside the open savepoint")
        db.rollback()  # the whole transaction, savepoint and all
        db.commit()  # a new, empty transaction
    finally:
        db.close()
    assert committed(db_sessions, vault) == []


def test_a_session_closed_without_committing_leaves_nothing_for_the_next_commit(
    db_sessions, audit, vault, record
):
    db = db_sessions()
    try:
        db.begin()
        record(db, "never committed")
        db.close()  # the transaction ends uncommitted: no rollback event, but nothing written
        with db.begin():
            record(db, "committed")
    finally:
        db.close()
    assert committed(db_sessions, vault) == ["committed"]
    verified(db_sessions, audit, checked=1)


def test_the_mirror_names_only_the_committed_events(db_sessions, audit, vault, record, tmp_path):
    logfiles.configure(tmp_path)
    with db_sessions.begin() as db:
        record(db, "before")
        with pytest.raises(Undo), db.begin_nested():
            record(db, "inside")
            raise Undo
        record(db, "after")
    mirror = tmp_path / "audit.log"
    assert [json.loads(line)["seq"] for line in mirror.read_text().splitlines()] == [1, 2]
    with db_sessions() as db:
        assert audit.verify(db, mirror=mirror).ok
