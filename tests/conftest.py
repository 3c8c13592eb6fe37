"""Shared fixtures: a migrated database per test (SQLite file, or PostgreSQL when asked), the demo
clinic installed, a vault with a throwaway key, and a fixed clock.

PostgreSQL tests take the server in `TEST_DATABASE_URL` (default: the local `test` database) and
make a database of their own there for the run. With no server they skip with the reason; with
`REQUIRE_POSTGRES=1` they fail instead.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import Pool

from app import services_of
from scheduler.clinic_file import load_clinic
from scheduler.clinic_store import install_clinic
from scheduler.crypto import Vault
from scheduler.db import make_engine, migrations_current, session_factory, upgrade
from scheduler.models import Base

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(autouse=True)
def close_server_connections():
    """Close, after each test, every PostgreSQL connection the test opened and left in a pool
    (apps and engines made inside a test are not all disposed by it). Warnings are errors here,
    and psycopg warns about a connection dropped open. Engines that outlive the test reconnect:
    PostgreSQL engines ping a connection before using it."""
    opened = []

    def remember(dbapi_connection, _record):
        opened.append(dbapi_connection)

    event.listen(Pool, "connect", remember)
    yield
    event.remove(Pool, "connect", remember)
    for connection in opened:
        if getattr(connection, "closed", True) is False:  # psycopg's; sqlite3 has no such flag
            connection.close()


@pytest.fixture(scope="session")
def demo_clinic():
    return load_clinic(None)


@pytest.fixture
def vault():
    return Vault([Fernet.generate_key().decode()])


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


def _postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        engine = make_engine(TEST_DATABASE_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "no server here"
        return f"PostgreSQL not reachable at TEST_DATABASE_URL ({type(exc).__name__})"


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL database of this test run's own (created from TEST_DATABASE_URL's server and
    dropped at the end), so two runs on one machine never reset each other's tables."""
    reason = _postgres_available()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " and REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    base = make_url(TEST_DATABASE_URL)
    private = f"{base.database}_run{os.getpid()}"
    admin = make_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{private}"'))
        connection.execute(text(f'CREATE DATABASE "{private}"'))
    yield base.set(database=private).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{private}" WITH (FORCE)'))
    admin.dispose()


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once per run; each test gets a copy (migrating costs ~0.3 s)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    make_engine(url).dispose()
    return path


_TABLES = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)


def empty_postgres(url: str) -> None:
    """The migrated schema with no rows (ids from 1 again): one TRUNCATE instead of dropping the
    schema and migrating it again, unless a test left it at another revision."""
    engine = make_engine(url)
    try:
        if not migrations_current(engine):
            engine.dispose()
            reset_postgres(url)
            upgrade(url)
            return
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A migrated, empty database URL: each test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


@pytest.fixture
def engine(sqlite_url, sqlite_template):
    """A migrated SQLite engine (the common case for unit tests)."""
    shutil.copyfile(sqlite_template, make_url(sqlite_url).database or "")
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine, demo_clinic):
    """A session factory on a migrated SQLite database with the demo clinic installed."""
    factory = session_factory(engine)
    with factory.begin() as session:
        install_clinic(session, demo_clinic)
    return factory


@pytest.fixture
def now():
    """A fixed instant: Wednesday 2026-03-04 09:00 in New York (14:00 UTC)."""
    return datetime(2026, 3, 4, 14, 0, tzinfo=UTC)


@pytest.fixture
def services(app):
    """The app's services (app.Services), in any test module or folder that defines `app`."""
    return services_of(app)


@pytest.fixture
def clock(now):
    """The time the app and engine see (tests/clock.py): `now`, moved by hand."""
    from tests.clock import Clock

    return Clock(now)


@pytest.fixture
def fake_slack():
    """Slack's Web API on 127.0.0.1 (tests/slack_support.py), for SLACK_API_URL."""
    from tests.slack_support import FakeSlack

    server = FakeSlack()
    yield server
    server.close()


@pytest.fixture
def fake_twilio():
    """Twilio's REST API on 127.0.0.1 (tests/twilio_support.py), for TWILIO_API_BASE_URL."""
    from tests.twilio_support import FakeTwilio

    fake = FakeTwilio()
    yield fake
    fake.close()
