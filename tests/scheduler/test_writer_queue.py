"""SQLite's writer queue (scheduler/db.py): a transaction holds the queue's file lock from BEGIN
to COMMIT or ROLLBACK, so other processes wait on the lock instead of in SQLite's sleeping busy
handler; waiting is bounded; a forked process opens a lock of its own."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import text

from scheduler import db as dbmod
from scheduler.db import make_engine


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def lock_is_free(path) -> bool:
    """Whether another process could take the writer lock now (a new open file description)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_transaction_holds_the_lock_until_commit_or_rollback(engine, tmp_path):
    lock = tmp_path / "queue.db-writer.lock"
    with engine.connect() as connection:
        connection.execute(text("SELECT n FROM counter"))
        assert not lock_is_free(lock)
        connection.commit()
        assert lock_is_free(lock)
        connection.execute(text("UPDATE counter SET n = n + 1"))
        assert not lock_is_free(lock)
        connection.rollback()
        assert lock_is_free(lock)
    with pytest.raises(ZeroDivisionError), engine.begin() as connection:
        connection.execute(text("UPDATE counter SET n = 99"))
        raise ZeroDivisionError
    assert lock_is_free(lock)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 0


def test_threads_and_processes_take_turns(engine, tmp_path):
    """Read-modify-write in Python (not n = n + 1): only mutual exclusion keeps every increment."""

    def bump(times):
        for _ in range(times):
            with engine.begin() as connection:
                n = connection.execute(text("SELECT n FROM counter")).scalar()
                connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    children = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # the child: its own pool, its own lock file descriptor
            code = 0
            try:
                engine.dispose(close=False)
                bump(50)
            except BaseException:
                code = 1
            os._exit(code)
        children.append(pid)
    threads = [threading.Thread(target=bump, args=(50,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for pid in children:
        assert os.waitpid(pid, 0)[1] == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 6 * 50


def test_a_writer_that_waits_too_long_fails_cleanly(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(dbmod, "WAIT_SECONDS", 0.3)
    fd = os.open(tmp_path / "queue.db-writer.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process holds the writer lock
    try:
        started = time.monotonic()
        with pytest.raises(Exception, match="database is locked"):
            with engine.begin() as connection:
                connection.execute(text("UPDATE counter SET n = 5"))
        assert time.monotonic() - started < 5
    finally:
        os.close(fd)
    # The abandoned wait lets the lock go as soon as it gets it, and the thread lock was given
    # back: the next transaction goes through.
    deadline = time.monotonic() + 5
    while not lock_is_free(tmp_path / "queue.db-writer.lock"):
        assert time.monotonic() < deadline, "the abandoned wait kept the writer lock"
        time.sleep(0.01)
    with engine.begin() as connection:
        connection.execute(text("UPDATE counter SET n = 7"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 7


def test_a_child_forked_during_a_transaction_does_not_keep_the_lock(engine, tmp_path):
    lock = tmp_path / "queue.db-writer.lock"
    with engine.connect() as connection:
        connection.execute(text("UPDATE counter SET n = 1"))  # holds the writer lock
        ready, started = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child (its fork hooks have run) lives on a while, touching nothing
            os.write(started, b"1")
            time.sleep(1.0)
            os._exit(0)
        assert os.read(ready, 1) == b"1"
        os.close(ready), os.close(started)
        connection.commit()
        try:
            assert lock_is_free(lock)
        finally:
            os.waitpid(pid, 0)


def test_a_process_whose_writer_gave_up_waiting_still_exits(engine, tmp_path):
    """The wait that gave up goes on in the background until the lock is free; it must not keep
    the process from exiting (a worker's restart, the jobs runner's shutdown)."""
    script = textwrap.dedent(f"""
        import sys
        from sqlalchemy import text
        from scheduler import db
        db.WAIT_SECONDS = 0.3
        engine = db.make_engine({str(engine.url)!r})
        try:
            with engine.begin() as connection:
                connection.execute(text("UPDATE counter SET n = 9"))
        except Exception as exc:
            sys.exit(3 if "database is locked" in str(exc) else 4)
        sys.exit(5)
    """)
    fd = os.open(tmp_path / "queue.db-writer.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held by "another process" until the end
    try:
        child = subprocess.run([sys.executable, "-c", script], cwd=dbmod.ROOT, timeout=20)
        assert child.returncode == 3
    finally:
        os.close(fd)
