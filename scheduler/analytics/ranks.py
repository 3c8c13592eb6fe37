"""Nearest-rank percentiles computed by the database: the value at rank ceil(n * p / 100) of the
n values in order (the smallest value with at least p % of the values at or below it).

PostgreSQL has the aggregate for it (percentile_disc). SQLite has none: there the values are
sorted once and numbered (row_number, and a running count per part for the rank within it), and
only those at the ranks wanted come back; the counts that give the ranks come from a GROUP BY
beforehand (or from the caller, who often has them), since a window count() OVER would cost
SQLite as much as the numbering. The two agree
(tests/scheduler/test_analytics.py runs on both).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

Ranked = dict[Any, tuple[int, list[Any]]]


def percentiles(
    db: Session,
    values: Any,
    *points: int,
    overall: bool = False,
    counts: dict[Any, int] | None = None,
) -> Ranked:
    """The percentiles `points` (0..100) of the column "value" of the query `values` (NULLs left
    out), per its column "part" when it has one: part -> (how many values, [the value at each
    point]). The key None holds all the values together: a query without "part" answers only
    under it; one with parts also does when asked (`overall`). `counts` (part -> how many
    values) spares the count when the caller already has it."""
    inner = values.where(values.selected_columns.value.is_not(None)).subquery()
    if "part" not in inner.c:
        part, overall = literal(None), False
    else:
        part = inner.c.part
    if db.get_bind().dialect.name == "postgresql":
        return _percentile_disc(db, inner, part, points, overall)
    if counts is None:
        counts = {
            key: int(n)
            for key, n in db.execute(select(part, func.count()).select_from(inner).group_by(part))
        }
    counts = {key: n for key, n in counts.items() if n}
    if not counts:
        return {}
    ranks = {key: _ranks(n, points) for key, n in counts.items()}
    if overall:
        ranks[None] = _ranks(sum(counts.values()), points)
    # One ordering of all the values: the rank among all, and for each part a running count of
    # its own values, which is the rank within the part (every window shares the one sort).
    ordered = {"order_by": inner.c.value, "rows": (None, 0)}
    keys = [key for key in ranks if key is not None]
    numbered = select(
        part.label("part"),
        inner.c.value,
        func.row_number().over(**ordered).label("r"),
        *(
            func.sum(case((part == key, 1), else_=0)).over(**ordered).label(f"r{n}")
            for n, key in enumerate(keys)
        ),
    ).subquery()
    wanted: list[ColumnElement[bool]] = (
        [numbered.c.r.in_(sorted(set(ranks[None])))] if None in ranks else []
    )
    wanted += [
        and_(numbered.c.part == key, numbered.c[f"r{n}"].in_(sorted(set(ranks[key]))))
        for n, key in enumerate(keys)
    ]
    at: dict[tuple[Any, int], Any] = {}
    for row in db.execute(select(numbered).where(or_(*wanted))).mappings():
        at[(None, int(row["r"]))] = row["value"]
        for n, key in enumerate(keys):
            if row["part"] == key:
                at[(key, int(row[f"r{n}"]))] = row["value"]
    total = sum(counts.values())
    return {
        key: (total if key is None else counts[key], [at[(key, r)] for r in picks])
        for key, picks in ranks.items()
    }


def percentiles_of(db: Session, values: Any, *points: int) -> list[Any]:
    """`percentiles` of a query without parts: the value at each point (None when empty)."""
    return percentiles(db, values, *points).get(None, (0, [None] * len(points)))[1]


def _ranks(n: int, points: tuple[int, ...]) -> list[int]:
    return [max(1, -(-n * point // 100)) for point in points]  # ceil without floating point


def _percentile_disc(
    db: Session, inner: Any, part: Any, points: tuple[int, ...], overall: bool
) -> Ranked:
    # percentile_disc(f) takes rank ceil(f * n) in floating point, where 0.9 * 70 is
    # 63.000000000000007 (rank 64). A fraction a hair under p / 100 gives the exact rank for
    # every n below ten million.
    fractions = [max(0.0, point / 100 - 1e-9) for point in points]
    query = select(
        part,
        func.count(),
        *(func.percentile_disc(f).within_group(inner.c.value) for f in fractions),
    ).select_from(inner)
    if overall:  # ROLLUP adds the row of all the values, its part NULL
        query = query.where(part.is_not(None)).group_by(func.rollup(part))
    else:
        query = query.group_by(part)
    return {key: (int(n), list(picked)) for key, n, *picked in db.execute(query)}
