"""patients: the language they are served in ("en", "es"; none yet: the clinic's default)

Told from what they write, or set when they ask ("en español"); used for every text, and for
those the clinic sends first (reminders, waitlist offers).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("language")
