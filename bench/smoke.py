"""What the benchmarks' `--smoke` modes share: a PostgreSQL database of the run's own.

`make test` runs every benchmark at a tiny size (tests/test_bench.py), possibly on two test
workers at once, so a benchmark in smoke mode never uses its usual database (`bench`,
`bench_api`, ...): it makes one named after it and its process id, and drops it at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from scheduler.db import make_engine


def private_name(url: str) -> str:
    """`url` with its database renamed `<name>_smoke_<pid>`: no two processes share it."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_smoke_{os.getpid()}").render_as_string(
        hide_password=False
    )


@contextmanager
def private_database(url: str) -> Iterator[str]:
    """An empty database beside `url`'s (same server), dropped when the block ends."""
    private = make_url(private_name(url))
    admin = make_engine(
        private.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{private.database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{private.database}"'))
        yield private.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{private.database}" WITH (FORCE)'))
        admin.dispose()
