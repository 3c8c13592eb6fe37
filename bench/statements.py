"""The SQL an engine sends while a block runs: for the benchmarks that show a path's statements
(bench_analytics) and the tests that a path costs the statements it should."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of each statement `engine` sends while the block runs, in order."""
    sent: list[tuple[str, Any]] = []

    def record(_connection, _cursor, statement, parameters, *_args) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
