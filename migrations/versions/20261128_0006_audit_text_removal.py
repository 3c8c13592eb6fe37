"""audit events: when an event's text was removed (retention, erasure), and an index of the rest

An event's text can be replaced by its digest (bot/audit.py) without breaking the hash chain.
`text_removed_at` marks the events done; the partial index holds only the events whose text is
still there, by time, so the daily retention purge reads just what it has to remove.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEPT = sa.text("text_removed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("text_removed_at", scheduler.models.UTCDateTime(), nullable=True)
        )
    op.create_index(
        "ix_audit_events_text_kept",
        "audit_events",
        ["at"],
        unique=False,
        postgresql_where=KEPT,
        sqlite_where=KEPT,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_text_kept", table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("text_removed_at")
