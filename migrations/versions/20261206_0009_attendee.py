"""appointments: who the visit is for, when not the patient who booked it

A parent books for a child, someone for their mother: the attendee's name (encrypted) is kept on
the appointment; the patient who booked stays the contact.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attendee_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("attendee_enc")
