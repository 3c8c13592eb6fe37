"""`flask --app app backup ...`: a whole-database backup to one file, and its restore.

    backup create FILE [--force]    a consistent copy of the database in DATABASE_URL, taken while
                                    the app runs: SQLite's online backup API, or `pg_dump -Fc`
    backup restore FILE [--force]   replace the database's contents with FILE's, all or nothing;
                                    refused when the database holds data, unless --force

A backup is written beside FILE and renamed onto it when complete, so FILE is never half a
backup; an existing FILE is kept unless --force. A restore checks FILE first (a SQLite database
of this app, or a pg_dump archive of one: `pg_restore --list`), then replaces everything in one
transaction: on PostgreSQL `pg_restore`'s SQL runs through `psql --single-transaction` after
`DROP SCHEMA public CASCADE`, on SQLite the backup API copies FILE over the database. "Holds
data" means a row in any table but the schema's version and the clinic's setup, which every
app start installs into an empty database (`flask --app app` itself starts the app).

Stop every web node and job worker on the database before restoring. The data is encrypted
under ENCRYPTION_KEYS: a backup is useless without those keys, and readable only with them.
After a restore, `flask --app app audit verify` walks the chain; against the same logs/audit.log
it names the events written after the backup was taken (lost, unless recovered to a point in
time: docs/operations.md, "Backups and recovery").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL, make_url

from scheduler.models import AppointmentType, AuditEvent, ClinicRecord, Provider, Resource

from .context import app_services, fail

backup_group = AppGroup("backup", help="Back the database up to a file, or restore it from one.")

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# What an app start puts into an empty database: these alone do not make it "hold data".
SETUP_TABLES = frozenset(
    {"alembic_version"}
    | {model.__tablename__ for model in (ClinicRecord, Provider, Resource, AppointmentType)}
)
LOCK_TIMEOUT = "10s"  # a PostgreSQL restore waits this long for sessions still using the tables
FORCE_HELP = "replace FILE if it exists"


@backup_group.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help=FORCE_HELP)
def backup_create(file: Path, force: bool) -> None:
    """Write a consistent backup of the whole database to FILE (the app may keep running)."""
    services = app_services()
    url = make_url(services.settings.database_url)
    if file.exists() and not force:
        fail(f"{file} exists: choose another name, or add --force to replace it")
    if not file.parent.is_dir():
        fail(f"no such directory: {file.parent}")
    partial = file.with_name(f".{file.name}.partial")
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite_backup(_sqlite_path(url), partial)
        else:
            _run([_program("pg_dump"), "--format=custom", f"--file={partial}"], url)
        os.replace(partial, file)
    finally:
        partial.unlink(missing_ok=True)
    events = _audit_events(services)
    click.echo(f"OK: backup written to {file} ({file.stat().st_size} bytes, {events} audit events)")


@backup_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="replace a database that holds data")
def backup_restore(file: Path, force: bool) -> None:
    """Replace everything in the database with the backup in FILE (all or nothing). Stop every
    node and worker on this database first."""
    services = app_services()
    url = make_url(services.settings.database_url)
    sqlite = url.get_backend_name() == "sqlite"
    _check_backup(file, sqlite=sqlite)
    if not force:
        held = _tables_with_rows(services.engine)
        if held:
            fail(
                f"the database holds data ({', '.join(held)}): restore into an empty database, "
                "or add --force to replace everything in it"
            )
    services.engine.dispose()  # this process's connections, before the database changes
    if sqlite:
        _sqlite_restore(file, _sqlite_path(url))
    else:
        _pg_restore(file, url)
    services.engine.dispose()
    events = _audit_events(services)
    click.echo(
        f"OK: restored from {file} ({events} audit events); "
        "next: flask --app app db upgrade, then flask --app app audit verify"
    )


# --- what both databases share ------------------------------------------------------------------


def _audit_events(services) -> int:
    with services.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _tables_with_rows(engine) -> list[str]:
    """The tables (other than the setup ones) that hold at least one row."""
    with engine.connect() as connection:
        names = sorted(set(inspect(connection).get_table_names()) - SETUP_TABLES)
        quote = connection.dialect.identifier_preparer.quote
        return [
            name
            for name in names
            if connection.execute(text(f"SELECT 1 FROM {quote(name)} LIMIT 1")).first()
        ]


def _check_backup(file: Path, *, sqlite: bool) -> None:
    """FILE is a backup of this kind of database, and whole; else fail, changing nothing."""
    try:
        with open(file, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    kind = "SQLite" if sqlite else "PostgreSQL"
    if head.startswith(PG_DUMP_MAGIC if sqlite else SQLITE_MAGIC):
        other = "PostgreSQL (pg_dump)" if sqlite else "SQLite"
        fail(f"{file} is a {other} backup, and this database is {kind}: nothing was changed")
    if not head.startswith(SQLITE_MAGIC if sqlite else PG_DUMP_MAGIC):
        fail(f"{file} is not a {kind} backup made by `backup create`: nothing was changed")
    problem = _sqlite_problem(file) if sqlite else _archive_problem(file)
    if problem:
        fail(f"{file} cannot be restored ({problem}): nothing was changed")


# --- SQLite: the online backup API --------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        fail("DATABASE_URL names an in-memory SQLite database: there is no file to back up")
    return Path(url.database)


def _sqlite_backup(source: Path, target: Path) -> None:
    """Copy the database page by page in one read transaction: a consistent snapshot, while
    other processes keep writing (in WAL mode a reader holds no writer up)."""
    if not source.is_file():
        fail(f"no database at {source}")
    target.unlink(missing_ok=True)
    with _closing(sqlite3.connect(source, timeout=30)) as src:  # it only reads
        with _closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            if dst.execute("PRAGMA quick_check").fetchone() != ("ok",):
                fail("the copy did not pass SQLite's quick_check: no backup was written")


def _sqlite_problem(file: Path) -> str | None:
    with open(file, "rb") as handle:
        header = handle.read(100)
    # The header's page size and page count (valid when its change counter matches the one
    # at offset 92): a file shorter than that lost its end.
    size = int.from_bytes(header[16:18], "big")
    size = 65536 if size == 1 else size
    pages = int.from_bytes(header[28:32], "big")
    if len(header) == 100 and header[24:28] == header[92:96] and file.stat().st_size < size * pages:
        return "it is shorter than its header says: cut off"
    try:
        with _closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as db:
            if db.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                return "it fails SQLite's integrity_check"
            found = db.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                "('alembic_version', 'audit_events')"
            ).fetchone()
    except sqlite3.DatabaseError as exc:
        return f"SQLite cannot read it: {exc}"
    return None if found == (2,) else "it is not a database of this app"


def _sqlite_restore(file: Path, target: Path) -> None:
    """The backup API the other way: FILE's pages replace the database's in one write
    transaction (other processes' writes wait for it, up to the timeout)."""
    with _closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as src:
        with _closing(sqlite3.connect(target, timeout=30)) as dst:
            try:
                src.backup(dst)
            except sqlite3.OperationalError as exc:
                fail(f"the restore failed and nothing was changed: {exc}")


class _closing:
    """`with` for a sqlite3 connection that closes it (sqlite3's own `with` only commits)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        return self.connection

    def __exit__(self, *_) -> None:
        self.connection.close()


# --- PostgreSQL: pg_dump, pg_restore and psql ---------------------------------------------------


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        fail(
            f"{name} not found: install PostgreSQL's client programs of the server's version "
            "or newer (Debian: postgresql-client)"
        )
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The database as a libpq connection string without the password, and the environment
    that carries it (PGPASSWORD: never in a command line that `ps` shows)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], url: URL, **kwargs) -> None:
    conninfo, env = _libpq(url)
    done = subprocess.run(
        [*command, f"--dbname={conninfo}"], env=env, capture_output=True, text=True, **kwargs
    )
    if done.returncode != 0:
        fail(f"{Path(command[0]).name} failed: {done.stderr.strip() or done.returncode}")


def _archive_problem(file: Path) -> str | None:
    listed = subprocess.run(
        [_program("pg_restore"), "--list", str(file)], capture_output=True, text=True
    )
    if listed.returncode != 0:
        return f"pg_restore cannot read it: {listed.stderr.strip()}"
    if " TABLE public alembic_version " not in listed.stdout:
        return "it is not a database of this app"
    return None


def _pg_restore(file: Path, url: URL) -> None:
    """pg_restore writes the archive as SQL; psql runs it after dropping the schema, all in one
    transaction that psql commits only at the end of its input. The SQL is passed on here, so
    that a pg_restore that fails part-way kills psql before that end: rolled back, the database
    is as it was."""
    conninfo, env = _libpq(url)
    with tempfile.TemporaryFile("w+") as errors:
        writer = subprocess.Popen(
            [_program("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(file)],
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        reader = subprocess.Popen(
            [
                _program("psql"),
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                "--single-transaction",
                f"--command=SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'",
                "--command=DROP SCHEMA public CASCADE",
                "--command=CREATE SCHEMA public",
                "--file=-",
                f"--dbname={conninfo}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        assert writer.stdout is not None and reader.stdin is not None  # both PIPE
        # psql stopping at an error closes its input: it rolled back, and says why on stderr.
        with contextlib.suppress(BrokenPipeError):
            shutil.copyfileobj(writer.stdout, reader.stdin)
        writer.stdout.close()
        if writer.wait() != 0:
            reader.kill()  # before its input ends: it never commits
        with contextlib.suppress(BrokenPipeError):
            reader.stdin.close()
        if reader.wait() != 0 or writer.returncode != 0:
            errors.seek(0)
            fail(f"the restore failed and nothing was changed: {errors.read().strip()}")
