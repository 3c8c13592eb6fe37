"""Database engines and sessions for SQLite (the embedded default) and PostgreSQL (the scale path).

SQLite runs in WAL mode, and every transaction starts with BEGIN IMMEDIATE so that writers queue
for the lock instead of failing half-way with a stale snapshot. They queue on a `WriterQueue`
first: SQLite's own busy handler waits for the lock by sleeping 1, 2, 5 ... 100 ms at a time, so
under load a turn of 2 ms waited tens of milliseconds for a lock that was free after one. The
queue hands the lock over at once, inside a process (a thread lock) and between processes (a
blocking `flock` on a file beside the database: the kernel wakes the next waiter when the holder
lets go); SQLite's busy timeout stays as the backstop for any other program writing to the file.

Sessions that only read (`reader_factory`) take no writer lock: on SQLite a deferred BEGIN (a
snapshot of the last commit, taken at the first read) with `query_only` on, so a write fails at
once; on PostgreSQL a READ ONLY, REPEATABLE READ transaction. A dashboard's reads then never
hold up a booking.
"""

from __future__ import annotations

import fcntl
import os
import queue
import sqlite3
import threading
import time
import weakref
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Protocol, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

ROOT = Path(__file__).resolve().parent.parent


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        queue = WriterQueue(
            f"{parsed.database}-writer.lock"
            if parsed.database and parsed.database != ":memory:"
            else None
        )
        engine = create_engine(
            url,
            connect_args={
                "timeout": WAIT_SECONDS,
                "check_same_thread": False,
                "factory": _queued_connection(queue),
            },
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    # PostgreSQL: a connection the server dropped (a restart, a failover, pg_terminate_backend)
    # is found by the ping before it is lent out and replaced; a disconnect seen mid-statement
    # invalidates every connection the pool holds, so the next checkouts reconnect by themselves.
    return create_engine(url, pool_pre_ping=True, **kwargs)


# What a request meeting the database's absence raises: a connection lost or refused, a lock or
# serialization failure (OperationalError on both drivers), a pool with nothing to lend in time.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is out of reach for now (try again shortly), not
    that the request or the code is wrong: webhooks answer it with a 503 their sender retries."""
    return isinstance(exc, UNAVAILABLE)


WAIT_SECONDS = 30  # how long a transaction waits for SQLite's write lock before it fails


class WriterQueue:
    """One writer at a time, per database file: a thread lock for this process's threads, then
    an exclusive `flock` between processes, on a descriptor opened for the transaction and closed
    after it (closing releases the lock; nothing is left open, and a fork inherits nothing).

    A blocking `flock` cannot time out, so a contended one waits in the queue's own thread (one
    waiter a process: the thread lock comes first) while the transaction's thread waits for it
    at most `WAIT_SECONDS`. Past that the transaction fails, and the waiter, once it gets the
    lock, lets it go at once. (Polling with LOCK_NB instead left the lock idle for up to a
    polling interval at each hand-over between processes: about a tenth of SMS throughput.)"""

    def __init__(self, path: str | None):
        self.path = path
        self._threads = threading.Lock()
        self._fd: int | None = None  # the holder's descriptor (one holder a process)
        self._waiting: set[int] = set()  # descriptors handed to the waiter, not yet closed
        self._waiter: _FlockWaiter | None = None
        _QUEUES.add(self)

    def acquire(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        if not self._threads.acquire(timeout=WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked (writer queue)")
        if self.path is None:
            return
        try:
            self._fd = self._lock_file(self.path, max(0.0, deadline - time.monotonic()))
        except BaseException:  # even an interrupt must give the thread slot back
            self._threads.release()
            raise

    def _lock_file(self, path: str, timeout: float) -> int:
        """A new descriptor of the lock file, holding its lock (within `timeout` seconds)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass  # another process holds it: wait below
        except BaseException:  # the descriptor must not leak, whatever happened
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
        except BaseException as exc:  # a timeout or an interrupt alike: let the lock go
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

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self._threads.release()

    def _after_fork(self) -> None:
        """In a forked child: what the parent's threads held is not this process's. Its copy of
        a held descriptor is closed (not unlocked: that would free the parent's lock), so that
        the lock ends when the parent lets go, however long the child lives. So are descriptors
        the parent's waiter thread has (one may have got the lock just before the fork, its
        transaction not yet told); that thread does not exist here."""
        held = self._waiting if self._fd is None else self._waiting | {self._fd}
        for fd in held:
            os.close(fd)
        self._threads = threading.Lock()
        self._fd, self._waiting, self._waiter = None, set(), None


class _FlockWaiter:
    """One daemon thread that takes blocking `flock`s in turn, each answered on a Future. A
    daemon, unlike a ThreadPoolExecutor's thread, which the interpreter joins at exit: a wait
    for a lock that another process never lets go must not keep this process from exiting."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[None], int]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="sqlite-writer", daemon=True).start()

    def submit(self, fd: int) -> Future[None]:
        taken: Future[None] = Future()
        self._jobs.put((taken, fd))
        return taken

    def _run(self) -> None:
        while True:
            taken, fd = self._jobs.get()
            if not taken.set_running_or_notify_cancel():
                continue  # given up on before its turn came
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException as exc:  # handed to the waiter, which re-raises it
                taken.set_exception(exc)
            else:
                taken.set_result(None)


_QUEUES: weakref.WeakSet[WriterQueue] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer_queue in list(_QUEUES):
        writer_queue._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Begins(Protocol):
    """What `_queued_connection`'s connections add to sqlite3's."""

    def begin_immediate(self) -> None: ...

    def begin_read_only(self) -> None: ...


def _queued_connection(queue: WriterQueue) -> type[sqlite3.Connection]:
    """A sqlite3 connection whose transactions hold `queue` from BEGIN to COMMIT or ROLLBACK,
    but for the read-only ones, which neither queue nor lock."""

    class QueuedConnection(sqlite3.Connection):
        _queued = False
        _read_only = False

        def begin_read_only(self) -> None:
            self.execute("PRAGMA query_only = ON")
            self._read_only = True
            try:
                self.execute("BEGIN")
            except BaseException:
                self._writable()
                raise

        def begin_immediate(self) -> None:
            queue.acquire()
            self._queued = True
            try:
                self.execute("BEGIN IMMEDIATE")
            except BaseException:  # leave the queue whatever stopped the BEGIN
                self._leave()
                raise

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._writable()
                self._leave()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._writable()
                self._leave()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._leave()

        def _writable(self) -> None:
            """After a read-only transaction, the connection goes back to the pool writable."""
            if self._read_only:
                self._read_only = False
                self.execute("PRAGMA query_only = OFF")

        def _leave(self) -> None:
            if self._queued:
                self._queued = False
                queue.release()

    return QueuedConnection


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, start transactions (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={WAIT_SECONDS * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # The engine's "factory" makes every driver connection a `QueuedConnection`; the stubs
        # only know it as a DBAPI connection (or None).
        begins = cast(_Begins, connection.connection.dbapi_connection)
        if connection.get_execution_options().get(READ_ONLY):
            begins.begin_read_only()
        else:
            begins.begin_immediate()


READ_ONLY = "read_only"  # the execution option of `reader_factory`'s engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def reader_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions only read, each from one snapshot, on `engine`'s pool: no
    writer lock on SQLite (WAL: the snapshot of the first read); REPEATABLE READ and READ ONLY
    on PostgreSQL (one BEGIN says both; a read-only transaction there never meets a
    serialization failure). A write in one fails."""
    options: dict[str, Any] = {READ_ONLY: True}
    if is_postgres(engine):
        options |= {"postgresql_readonly": True, "isolation_level": "REPEATABLE READ"}
    return session_factory(engine.execution_options(**options))


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


def migration_state(engine: Engine) -> str:
    """Where the database stands against this code's migrations (what /readyz asks):
    "current" (at the newest), "pending" (behind: `db upgrade`), or "ahead" (at a revision this
    code does not know: a newer release's expand migration ran during a rolling restart, and this
    older node still works on the schema, since an expand step only adds)."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == set(script.get_heads()):
        return "current"
    known = {revision.revision for revision in script.walk_revisions()}
    return "ahead" if current - known else "pending"


def migrations_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    return migration_state(engine) == "current"
