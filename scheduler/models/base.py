"""What every table is built on: `Base` and its metadata, `UTCDateTime`, `utcnow`, `CELL_MINUTES`.

Every instant is stored as UTC (naive in the database, aware in Python, see `UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import DateTime, MetaData, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

# The grain of the no-overlap guarantee. Durations and buffers are whole multiples of it.
CELL_MINUTES = 5


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database.

    Refuses naive datetimes on the way in: a time without a zone is a bug, not a guess.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    # Every model is mapped to a Table (SQLAlchemy types __table__ as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
