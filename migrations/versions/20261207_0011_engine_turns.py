"""engine_turns: one row per patient turn for the analytics (engine, latency, tokens, outcome);
appointments.reminder_answer: what the patient answered to its reminder (C, R or X)

The dashboard's language-engine and channel figures are computed from these in SQL, not from the
log files.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engine_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=40), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("model_calls", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_engine_turns_at", "engine_turns", ["at"])
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_answer", sa.String(length=1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("reminder_answer")
    op.drop_index("ix_engine_turns_at", table_name="engine_turns")
    op.drop_table("engine_turns")
