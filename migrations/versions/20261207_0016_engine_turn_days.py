"""engine_turns.day: the clinic-local date of each turn, stored with it, and the analytics' index
led by it

The dashboard's language-engine figures group the range's turns by day and engine; computing each
turn's local date from its instant (a time-zone CASE per row) and reading each row through the
index on `at` was 40-45 ms of a 90-day dashboard on both databases. The date is the one the
turn's conversation digest already uses (bot/engine/metrics.py). The covering index holds every
column those figures read, so they are answered from the index alone. Existing rows get their
date in the installed clinic's zone.

An expand step (README, "Migrations during a rolling restart"): the column stays nullable, since
a node still running the code before it writes turns without a date until it restarts (the
maintenance job dates those: jobs/maintenance.py `date_engine_turns`), and the index on `at`,
which only that older code's dashboard reads, stays until a later release drops it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 15:00:00.000000
"""

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COVERED = [
    "day",
    "engine",
    "channel",
    "fallback",
    "error",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "conversation",
    "outcome",
]
_BATCH = 5_000


def upgrade() -> None:
    op.add_column("engine_turns", sa.Column("day", sa.Date(), nullable=True))
    connection = op.get_bind()
    zone_name = connection.execute(sa.text("SELECT timezone FROM clinic LIMIT 1")).scalar()
    zone = ZoneInfo(zone_name) if zone_name else UTC
    turns = sa.table("engine_turns", sa.column("id", sa.Integer), sa.column("at", sa.DateTime))
    after = 0
    while True:
        rows = connection.execute(
            sa.select(turns.c.id, turns.c.at)
            .where(turns.c.id > after)
            .order_by(turns.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            sa.text("UPDATE engine_turns SET day = :day WHERE id = :id"),
            [{"id": i, "day": at.replace(tzinfo=UTC).astimezone(zone).date()} for i, at in rows],
        )
        after = rows[-1][0]
    op.create_index("ix_engine_turns_day", "engine_turns", COVERED)


def downgrade() -> None:
    op.drop_index("ix_engine_turns_day", table_name="engine_turns")
    with op.batch_alter_table("engine_turns") as batch_op:
        batch_op.drop_column("day")
