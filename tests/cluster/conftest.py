"""The cluster of `make cluster` (deploy/cluster.py) for tests: three web nodes, two job workers
and nginx on this machine, on a PostgreSQL database of the test run's own.

It needs the PostgreSQL server of TEST_DATABASE_URL and nginx (Debian's package). Without them the
cluster tests skip with the reason; with REQUIRE_CLUSTER=1 (.ci/run) they fail instead.
"""

from __future__ import annotations

import os
import socket
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from deploy.cluster import Cluster, ensure_database, nginx_binary
from scheduler.db import make_engine
from tests.conftest import TEST_DATABASE_URL, _postgres_available
from tests.twilio_support import PUBLIC_BASE_URL, TOKEN


def _missing() -> str | None:
    if nginx_binary() is None:
        return "nginx is not installed (apt-get install nginx-light)"
    return _postgres_available()


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def quiet_hours_away_from_now() -> str:
    """A one-minute QUIET_HOURS twelve hours from now (the clinic's zone): reminders may go out
    whenever the test runs."""
    later = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")) + timedelta(hours=12)
    end = later + timedelta(minutes=1)
    return f"{later:%H:%M}-{end:%H:%M}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = _missing()
    if reason:
        if os.environ.get("REQUIRE_CLUSTER") == "1":
            pytest.fail(reason + " and REQUIRE_CLUSTER=1")
        pytest.skip(reason)
    base = make_url(TEST_DATABASE_URL)
    name = f"{base.database}_cluster{os.getpid()}"
    url, _ = ensure_database(TEST_DATABASE_URL, name, fresh=True)
    port, *node_ports = free_ports(4)
    cluster = Cluster.create(
        tmp_path_factory.mktemp("cluster"),
        port=port,
        node_ports=dict(zip(("web1", "web2", "web3"), node_ports, strict=True)),
        database_url=url,
        public_url=PUBLIC_BASE_URL,
        env={
            "TWILIO_AUTH_TOKEN": TOKEN,
            "QUIET_HOURS": quiet_hours_away_from_now(),
            "WEB_ACCESS_LOG": "",  # gunicorn's access log off: nginx's says which node answered
        },
    )
    cluster.save()
    try:
        cluster.migrate()
        cluster.start_all()
        yield cluster
    finally:
        cluster.stop_all()
        admin = make_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
