"""Nearest-rank percentiles computed by the database: the value at rank ceil(n * p / 100) of the
n values in order (the smallest value with at least p % of the values at or below it).

PostgreSQL has the aggregate for it (percentile_disc). SQLite has none: there the values are
numbered in order (row_number) and only those at the ranks wanted come back, the counts that give
the ranks taken from a GROUP BY beforehand (or from the caller, who often has them): a second
window, count() OVER, costs SQLite as much as the numbering. The two agree
(tests/scheduler/test_analytics.py runs on both).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, literal, or_, select, true
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
    windows = [func.row_number().over(partition_by=part, order_by=inner.c.value).label("rank")]
    if overall:
        windows.append(func.row_number().over(order_by=inner.c.value).label("all_rank"))
    numbered = select(part.label("part"), inner.c.value, *windows).subquery()
    wanted = [
        and_(
            numbered.c.part == key if key is not None else true(),
            numbered.c.rank.in_(sorted(set(picks))),
        )
        for key, picks in ranks.items()
    ]
    if overall:
        every = _ranks(sum(counts.values()), points)
        wanted.append(numbered.c.all_rank.in_(sorted(set(every))))
    at: dict[tuple[Any, int], Any] = {}
    for row in db.execute(select(numbered).where(or_(*wanted))):
        at[(row.part, int(row.rank))] = row.value
        if overall:
            at[(None, int(row.all_rank))] = row.value
    found = {key: (counts[key], [at[(key, r)] for r in picks]) for key, picks in ranks.items()}
    if overall:
        found[None] = (sum(counts.values()), [at[(None, r)] for r in every])
    return found


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
