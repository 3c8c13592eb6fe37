"""Database engines and sessions for SQLite (the embedded default) and PostgreSQL (the scale path).

SQLite runs in WAL mode, and every transaction starts with BEGIN IMMEDIATE so that writers queue
for the lock instead of failing half-way with a stale snapshot. They queue on a `WriterQueue`
first: SQLite's own busy handler waits for the lock by sleeping 1, 2, 5 ... 100 ms at a time, so
under load a turn of 2 ms waited tens of milliseconds for a lock that was free after one. The
queue hands the lock over at once, inside a process (a thread lock) and between processes (a
blocking `flock` on a file beside the database: the kernel wakes the next waiter when the holder
lets go); SQLite's busy timeout stays as the backstop for any other program writing to the file.

The WAL is copied back into the database by a thread of its own, not by a commit: SQLite's
automatic checkpoint runs inside the commit that crosses its threshold, holding the write lock
for several milliseconds while every other writer waits (`Checkpointer`).
"""
from __future__ import annotations

import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from concurrent.futures import Future, TimeoutError as FutureTimeout
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        queue = WriterQueue(parsed.database
                            if parsed.database and parsed.database != ":memory:" else None)
        engine = create_engine(url, connect_args={"timeout": WAIT_SECONDS,
                                                  "check_same_thread": False,
                                                  "factory": _queued_connection(queue)},
                               **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


WAIT_SECONDS = 30     # how long a transaction waits for SQLite's write lock before it fails
CHECKPOINT_EVERY = 100    # commits between two checkpoints by the checkpoint thread
BACKSTOP_PAGES = 10_000   # WAL pages at which a commit checkpoints after all (thread stuck)


class WriterQueue:
    """One writer at a time, per database file: a thread lock for this process's threads, then
    an exclusive `flock` between processes, on a descriptor opened for the transaction and closed
    after it (closing releases the lock; nothing is left open, and a fork inherits nothing).

    A blocking `flock` cannot time out, so a contended one waits in the queue's own thread (one
    waiter a process: the thread lock comes first) while the transaction's thread waits for it
    at most `WAIT_SECONDS`. Past that the transaction fails, and the waiter, once it gets the
    lock, lets it go at once. (Polling with LOCK_NB instead left the lock idle for up to a
    polling interval at each hand-over between processes: about a tenth of SMS throughput.)"""

    def __init__(self, database: str | None):
        self.database = database
        self.path = None if database is None else f"{database}-writer.lock"
        self._threads = threading.Lock()
        self._fd: int | None = None           # the holder's descriptor (one holder a process)
        self._waiting: set[int] = set()       # descriptors handed to the waiter, not yet closed
        self._waiter: _FlockWaiter | None = None
        self._commits = 0
        self._checkpointer: Checkpointer | None = None
        _QUEUES.add(self)

    def acquire(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        if not self._threads.acquire(timeout=WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked (writer queue)")
        if self.path is None:
            return
        try:
            self._fd = self._lock_file(self.path, max(0.0, deadline - time.monotonic()))
        except BaseException:
            self._threads.release()
            raise

    def _lock_file(self, path: str, timeout: float) -> int:
        """A new descriptor of the lock file, holding its lock (within `timeout` seconds)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass                              # another process holds it: wait below
        except BaseException:
            os.close(fd)
            raise
        if self._waiter is None:
            self._waiter = _FlockWaiter()
        self._waiting.add(fd)
        taken = self._waiter.submit(fd)
        try:
            taken.result(timeout=timeout)
            self._waiting.discard(fd)
            return fd
        except BaseException as exc:
            # Not ours in time: the descriptor is closed (and a lock it got, let go) as soon as
            # the waiter is done with it, or at once if the wait never started.
            taken.cancel()
            taken.add_done_callback(lambda _: self._close_waited(fd))
            if isinstance(exc, FutureTimeout):
                raise sqlite3.OperationalError("database is locked (writer queue)") from None
            raise

    def _close_waited(self, fd: int) -> None:
        if fd in self._waiting:
            self._waiting.discard(fd)
            os.close(fd)

    def release(self, committed: bool = False) -> None:
        fd, self._fd = self._fd, None
        checkpoint = False
        if committed and self.database is not None:
            self._commits += 1
            checkpoint = self._commits % CHECKPOINT_EVERY == 0
        if fd is not None:
            os.close(fd)
        self._threads.release()
        if checkpoint:
            if self._checkpointer is None:
                self._checkpointer = checkpointer = Checkpointer(self)
                weakref.finalize(self, checkpointer.stop)    # the engine is gone: so is it
            self._checkpointer.request()

    def _after_fork(self) -> None:
        """In a forked child: what the parent's threads held is not this process's. Its copy of
        a held descriptor is closed (not unlocked: that would free the parent's lock), so that
        the lock ends when the parent lets go, however long the child lives. So are descriptors
        the parent's waiter thread has (one may have got the lock just before the fork, its
        transaction not yet told); that thread does not exist here."""
        for fd in ({self._fd} | self._waiting) - {None}:
            os.close(fd)
        self._threads = threading.Lock()
        self._fd, self._waiting, self._waiter = None, set(), None
        if self._checkpointer is not None:
            # Its thread is the parent's; its SQLite connection must not be closed here (SQLite
            # forbids using a connection across fork), so it is kept, unused, for good.
            _FORSAKEN.append(self._checkpointer)
            self._checkpointer = None


class _FlockWaiter:
    """One daemon thread that takes blocking `flock`s in turn, each answered on a Future. A
    daemon, unlike a ThreadPoolExecutor's thread, which the interpreter joins at exit: a wait
    for a lock that another process never lets go must not keep this process from exiting."""

    def __init__(self):
        self._jobs: queue.SimpleQueue[tuple[Future, int]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="sqlite-writer", daemon=True).start()

    def submit(self, fd: int) -> Future:
        taken: Future = Future()
        self._jobs.put((taken, fd))
        return taken

    def _run(self) -> None:
        while True:
            taken, fd = self._jobs.get()
            if not taken.set_running_or_notify_cancel():
                continue                      # given up on before its turn came
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException as exc:
                taken.set_exception(exc)
            else:
                taken.set_result(None)


class Checkpointer:
    """A daemon thread that copies the WAL back into the database when asked (every
    `CHECKPOINT_EVERY` commits of its process), on a connection of its own, in two passes of
    `PRAGMA wal_checkpoint(PASSIVE)`. The first copies nearly all of it while writers go on (the
    driver lets other threads run meanwhile). The second, holding the writer queue, copies
    the few pages written since: a WAL copied back to its end starts again from the beginning
    at the next write, so it stays small. (Without that moment alone it would only ever grow:
    someone is always writing.) Should the thread fall behind, SQLite's own checkpoint, inside
    a commit, takes over at `BACKSTOP_PAGES`."""

    def __init__(self, queue: WriterQueue):
        self.database = queue.database
        self.runs = 0                      # checkpoints done (tests)
        self._queue = weakref.ref(queue)
        self._due = threading.Event()
        self._stopping = False
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.thread.start()

    def request(self) -> None:
        self._due.set()

    def stop(self) -> None:
        self._stopping = True
        self._due.set()

    def _run(self) -> None:
        connection = sqlite3.connect(self.database)
        try:
            while True:
                self._due.wait()
                self._due.clear()
                queue = self._queue()
                if self._stopping or queue is None:
                    return
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    queue.acquire()
                    try:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    finally:
                        queue.release()
                except sqlite3.Error as exc:   # the next request tries again
                    log.warning("WAL checkpoint failed: %s", exc)
                del queue
                self.runs += 1
        finally:
            connection.close()


_FORSAKEN: list[Checkpointer] = []
_QUEUES: weakref.WeakSet[WriterQueue] = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [queue._after_fork() for queue in list(_QUEUES)])


def _queued_connection(queue: WriterQueue) -> type[sqlite3.Connection]:
    """A sqlite3 connection whose transactions hold `queue` from BEGIN to COMMIT or ROLLBACK."""

    class QueuedConnection(sqlite3.Connection):
        _queued = False

        def begin_immediate(self) -> None:
            queue.acquire()
            self._queued = True
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._leave()
                raise

        def commit(self) -> None:
            try:
                super().commit()
            except BaseException:
                self._leave()
                raise
            self._leave(committed=True)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._leave()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._leave()

        def _leave(self, committed: bool = False) -> None:
            if self._queued:
                self._queued = False
                queue.release(committed)

    return QueuedConnection


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, start transactions (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={WAIT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")   # see Checkpointer
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.connection.dbapi_connection.begin_immediate()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database in `url` to the newest migration (every head, should branches meet)."""
    command.upgrade(alembic_config(url), "heads")


def migrations_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (what /readyz asks)."""
    head = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(head.get_heads())
