"""SQL the two databases spell differently, written once: epoch seconds of a timestamp column, the
smaller and larger of two values, and a column's clinic-local time as epoch seconds; and the two
aggregates every dashboard figure uses (`count_if`, `sum_of`).

Every instant is stored as naive UTC (scheduler/models/base.py). SQLite has no time zones, so a
local time is the epoch plus the zone's offset, the offset chosen by a CASE over the zone's
transitions in the range asked (`local_epoch`): exact across daylight-saving changes, the same SQL
on both databases, and integers all the way.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

DAY_SECONDS = 86_400


class epoch(FunctionElement[int]):
    """Seconds since the Unix epoch of a naive-UTC timestamp column, computed by the database:
    integers cross the wire and no datetime is parsed per row."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch)
def _epoch_default(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # FLOOR: whole seconds cut down, as SQLite does (a bare CAST would round a .5 up).
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    if sqlite3.sqlite_version_info >= (3, 38):  # unixepoch() parses once, no text round trip
        return f"unixepoch({column})"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


class least(FunctionElement[Any]):
    """The smaller of two values (PostgreSQL's LEAST, SQLite's two-argument MIN)."""

    inherit_cache = True


class greatest(FunctionElement[Any]):
    """The larger of two values (PostgreSQL's GREATEST, SQLite's two-argument MAX)."""

    inherit_cache = True


@compiles(least)
def _least(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: SQLCompiler, **kw: Any) -> str:
    return f"MIN({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"MAX({compiler.process(element.clauses, **kw)})"


def count_if(condition: Any) -> Any:
    """How many rows meet the condition (0, not NULL, when there are none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def sum_of(value: Any) -> Any:
    """The sum of the value (0, not NULL, when there are no rows)."""
    return func.coalesce(func.sum(value), 0)


def epoch_of(moment: datetime) -> int:
    return int(moment.timestamp())


@functools.lru_cache(maxsize=256)
def offsets(zone: ZoneInfo, first: date, last: date) -> tuple[tuple[int, int], ...]:
    """The zone's UTC offsets over the local dates first..last, as (from epoch, offset seconds):
    the first from the start of `first`, then one per transition (found to the second)."""
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    found = [(epoch_of(start), offset(start))]
    step, at = timedelta(hours=6), start
    while at < end:
        nxt = min(at + step, end)
        if offset(nxt) != found[-1][1]:
            low, high = at, nxt  # the change lies in (low, high]: halve to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((epoch_of(high), offset(high)))
        at = nxt
    return tuple(found)


def local_epoch(column: Any, zone: ZoneInfo, first: date, last: date) -> ColumnElement[int]:
    """`column` (naive UTC) as local epoch seconds in `zone`, for instants within first..last.

    The offset is chosen by comparing the stored column itself with each transition (an index
    or a plain text comparison on SQLite), so the epoch is computed once a row, not once a WHEN."""
    seconds = epoch(column)
    spans = offsets(zone, first, last)
    if len(spans) == 1:
        return seconds + literal(spans[0][1])
    whens = [
        (column < datetime.fromtimestamp(start, UTC), literal(off))
        for (_, off), (start, _) in itertools.pairwise(spans)
    ]
    return seconds + case(*whens, else_=literal(spans[-1][1]))
