"""hardening: the web chat's own patients, and refused webhook requests counted per minute

- `patients.scope`: "web" for the demo web chat's patients, whose blind index is of the scope and
  the number (scheduler/patients.py), so they are never the SMS channel's patient.
- `refusal_tallies`: refused webhook requests (forged signatures, rate-limited addresses)
  counted per source address, minute, endpoint and reason by each web process, in memory, and
  added here about once a minute; a job turns each closed minute of an address into one
  `security` audit event (adapters/refusals.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=16), nullable=True))
    op.create_table(
        "refusal_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("minute", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "source", "minute", "endpoint", "reason", name="uq_refusal_tallies_key"
        ),
    )
    op.create_index("ix_refusal_tallies_minute", "refusal_tallies", ["minute"])


def downgrade() -> None:
    op.drop_index("ix_refusal_tallies_minute", table_name="refusal_tallies")
    op.drop_table("refusal_tallies")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("scope")
