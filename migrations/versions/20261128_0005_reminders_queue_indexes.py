"""reminders: partial indexes over the rows still to send; autovacuum tuned for a queue table

The claim walks `ix_reminders_due` from its front. Indexing only pending and sending rows keeps
that index the size of the queue, not of every reminder ever sent. On PostgreSQL each claimed or
sent row leaves a dead index entry until vacuum, so the table is vacuumed (and analyzed: a bulk of
new reminders changes the plans) after 1% of it changed instead of the default 20%.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNSENT = sa.text("status IN ('pending', 'sending')")
LEASED = sa.text("status = 'sending'")
AUTOVACUUM = ("autovacuum_vacuum_scale_factor", "autovacuum_analyze_scale_factor")


def upgrade() -> None:
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.drop_index("ix_reminders_lease", table_name="reminders")
    op.create_index(
        "ix_reminders_due",
        "reminders",
        ["status", "due_at"],
        unique=False,
        postgresql_where=UNSENT,
        sqlite_where=UNSENT,
    )
    op.create_index(
        "ix_reminders_lease",
        "reminders",
        ["status", "lease_until"],
        unique=False,
        postgresql_where=LEASED,
        sqlite_where=LEASED,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE reminders SET (" + ", ".join(f"{name} = 0.01" for name in AUTOVACUUM) + ")"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE reminders RESET ({', '.join(AUTOVACUUM)})")
    op.drop_index("ix_reminders_lease", table_name="reminders")
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.create_index("ix_reminders_due", "reminders", ["status", "due_at"], unique=False)
    op.create_index("ix_reminders_lease", "reminders", ["status", "lease_until"], unique=False)
