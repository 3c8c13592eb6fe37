"""Claiming due rows for one worker, the way every queue here does it (jobs/reminders/claims.py,
jobs/ehr_webhook.py): pick the ids of the rows each condition names in turn (first the due rows,
then those whose worker's lease ran out), locked past other workers (SKIP LOCKED on PostgreSQL;
SQLite has one writer at a time), and mark them taken by id, through the primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def by_ids(column: Any, ids: Sequence[int], *, postgres: bool) -> ColumnElement[bool]:
    """`column IN (ids)`; on PostgreSQL `column = ANY(:ids)`, one array parameter: a batch of
    500 ids would otherwise be 500 parameters, and a statement that long is parsed again by
    psycopg at every execution (its statement cache keeps short ones only)."""
    if postgres:
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    return column.in_(ids)


def lease_due(
    db: Session,
    model: Any,
    dues: Sequence[ColumnElement[bool]],
    *,
    order_by: Any,
    limit: int,
    postgres: bool,
    values: dict[str, Any],
) -> list[int]:
    """Up to `limit` ids of `model` rows, taken by setting `values` on them."""
    claimed: list[int] = []
    for due in dues:
        wanted = limit - len(claimed)
        if wanted <= 0:
            break
        pick = select(model.id).where(due).order_by(order_by).limit(wanted)
        if postgres:
            pick = pick.with_for_update(skip_locked=True)
        ids = db.scalars(pick).all()
        if not ids:
            continue
        # As one UPDATE ... WHERE id IN (subquery) the planner scanned the whole table to join
        # the two; by the picked ids it goes through the primary key.
        db.execute(
            update(model)
            .where(by_ids(model.id, ids, postgres=postgres))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        claimed.extend(ids)
    return claimed
