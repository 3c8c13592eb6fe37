"""Sessions that only read (scheduler/db.py `reader_factory`): on SQLite they take no writer lock,
so a dashboard is not held up by a booking in progress and holds none up; on both databases a
write in one is refused, and the connection goes back to the pool writable."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scheduler import analytics
from scheduler.db import make_engine, reader_factory, session_factory

from .test_writer_queue import lock_is_free


@pytest.fixture
def one_connection(database_url):
    # One connection in the pool: whatever a reader leaves on it, the next session meets.
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE jotted (n INTEGER NOT NULL)"))
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE jotted"))
    engine.dispose()


def test_a_reader_refuses_to_write_and_leaves_its_connection_writable(one_connection):
    readers, writers = reader_factory(one_connection), session_factory(one_connection)
    with readers() as db:
        assert db.execute(text("SELECT count(*) FROM jotted")).scalar() == 0
        with pytest.raises(DBAPIError, match=r"read-only|readonly"):
            db.execute(text("INSERT INTO jotted VALUES (1)"))
    with writers.begin() as db:
        db.execute(text("INSERT INTO jotted VALUES (2)"))
    with readers() as db:
        assert db.execute(text("SELECT n FROM jotted")).scalars().all() == [2]
    with writers.begin() as db:  # after a reader that ended cleanly, too
        db.execute(text("INSERT INTO jotted VALUES (3)"))
    with writers() as db:
        assert db.execute(text("SELECT count(*) FROM jotted")).scalar() == 2


def test_a_reader_reads_one_snapshot(one_connection, database_url):
    other = make_engine(database_url)
    try:
        with reader_factory(one_connection)() as db:
            assert db.execute(text("SELECT count(*) FROM jotted")).scalar() == 0
            with other.begin() as connection:  # commits while the reader is open
                connection.execute(text("INSERT INTO jotted VALUES (1)"))
            assert db.execute(text("SELECT count(*) FROM jotted")).scalar() == 0
        with reader_factory(one_connection)() as db:
            assert db.execute(text("SELECT count(*) FROM jotted")).scalar() == 1
    finally:
        other.dispose()


def test_on_sqlite_a_reader_takes_no_writer_lock(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'read.db'}")
    lock = tmp_path / "read.db-writer.lock"
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE jotted (n INTEGER NOT NULL)"))
        with reader_factory(engine)() as db:
            db.execute(text("SELECT count(*) FROM jotted")).scalar()
            assert lock_is_free(lock)
        with session_factory(engine)() as db:  # a writer's transaction holds it
            db.execute(text("SELECT count(*) FROM jotted")).scalar()
            assert not lock_is_free(lock)
    finally:
        engine.dispose()


def test_on_sqlite_the_dashboard_is_not_held_up_by_a_writer(sessions, demo_clinic):
    engine = sessions.kw["bind"]
    holding, done = threading.Event(), threading.Event()

    def writer() -> None:
        with sessions.begin() as db:
            db.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the writer lock is taken
            holding.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        began = time.monotonic()
        figures = analytics.dashboard(
            reader_factory(engine),
            demo_clinic,
            date(2026, 1, 5),
            date(2026, 1, 11),
            analytics.Filters(),
            now=datetime(2026, 1, 12, 15, 0, tzinfo=UTC),
        )
        waited = time.monotonic() - began
        assert waited < 5, waited  # answered while the writer held on (10 s)
        assert figures["appointments"]["total"] == 0
    finally:
        done.set()
        thread.join()
