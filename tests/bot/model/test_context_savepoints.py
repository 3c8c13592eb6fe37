"""`context_saved` / `context_not_saved` and savepoints: the turn's context is logged as saved when
the outermost transaction commits, not when a SAVEPOINT inside the turn is released (as booking
does); a savepoint that rolls back (a booking that lost its race) does not make the turn's context
"not saved" when the transaction then commits. Each turn is logged once, with its outcome.

On SQLite and on PostgreSQL (conftest's `database_url`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from bot.model.bedrock import BedrockEngine
from scheduler.db import make_engine, session_factory
from scheduler.models import JobLease
from tests.bedrock_support import log_lines


class Undo(Exception):
    """Raised inside a savepoint (or a transaction) to roll it back."""


@pytest.fixture
def db_sessions(database_url):
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


def pending(db, turn: str) -> None:
    """What the engine does once the model has answered the turn (bedrock.py)."""
    BedrockEngine._context_pending(SimpleNamespace(tools=SimpleNamespace(db=db)), turn, "web")


def outcomes(logs) -> list[tuple[str, str]]:
    return [
        (line["event"], line["turn"])
        for line in log_lines(logs, "orchestration")
        if line["event"] in ("context_saved", "context_not_saved")
    ]


def test_a_released_savepoint_logs_nothing_the_outer_commit_logs_saved(db_sessions, logs):
    with db_sessions.begin() as db:
        pending(db, "t1")
        with db.begin_nested():
            pass  # booking's savepoint, released
        assert outcomes(logs) == []
    assert outcomes(logs) == [("context_saved", "t1")]


def test_a_rolled_back_savepoint_does_not_unsave_the_turn_that_then_commits(db_sessions, logs):
    with db_sessions.begin() as db:
        pending(db, "t1")
        with pytest.raises(Undo), db.begin_nested():
            raise Undo
        assert outcomes(logs) == []
    assert outcomes(logs) == [("context_saved", "t1")]


def test_a_booking_that_lost_its_race_does_not_unsave_the_turn(db_sessions, logs, now):
    """As scheduler/booking.py does: the flush in the savepoint fails on a key, the savepoint
    rolls back, the turn carries on and commits."""
    with db_sessions.begin() as db:
        db.execute(insert(JobLease).values(name="taken", owner="a", until=now))
    with db_sessions.begin() as db:
        pending(db, "t1")
        with pytest.raises(IntegrityError), db.begin_nested():
            db.add(JobLease(name="taken", owner="b", until=now))
            db.flush()
    assert outcomes(logs) == [("context_saved", "t1")]


def test_a_turn_pending_inside_a_rolled_back_savepoint_is_not_saved(db_sessions, logs):
    with db_sessions.begin() as db:
        pending(db, "before")
        with pytest.raises(Undo), db.begin_nested():
            pending(db, "inside")
            raise Undo
    assert outcomes(logs) == [("context_not_saved", "inside"), ("context_saved", "before")]


def test_a_full_rollback_logs_not_saved_once_and_leaves_nothing_for_the_next_commit(
    db_sessions, logs
):
    with db_sessions() as db:
        with pytest.raises(Undo), db.begin():
            pending(db, "t1")
            with db.begin_nested():
                pass
            raise Undo
        assert outcomes(logs) == [("context_not_saved", "t1")]
        with db.begin():
            pending(db, "t2")
    assert outcomes(logs) == [("context_not_saved", "t1"), ("context_saved", "t2")]


def test_a_session_closed_without_committing_logs_not_saved(db_sessions, logs):
    db = db_sessions()
    try:
        db.begin()
        pending(db, "t1")
        db.close()  # the transaction ends uncommitted, with no rollback event
        with db.begin():
            pending(db, "t2")
    finally:
        db.close()
    assert outcomes(logs) == [("context_not_saved", "t1"), ("context_saved", "t2")]
