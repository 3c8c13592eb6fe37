"""Indexes for the analytics dashboard: a visit's reminders by kind and status (it asks of each
visit in its range whether a reminder was sent), reminders by kind and due time, texts by kind,
status and last update, bookings by when they were made

The reminders' index on appointment_id alone is replaced by the wider one, which serves the same
lookups. Without these, each dashboard request read every reminder and every text ever sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:30:00.000000
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminders") as batch_op:
        batch_op.drop_index("ix_reminders_appointment_id")
        batch_op.create_index("ix_reminders_appointment", ["appointment_id", "kind", "status"])
        batch_op.create_index("ix_reminders_kind_due", ["kind", "due_at", "status"])
    op.create_index("ix_sms_kind_status_updated", "sms_messages", ["kind", "status", "updated_at"])
    op.create_index("ix_appointments_created", "appointments", ["created_at", "booked_via"])


def downgrade() -> None:
    op.drop_index("ix_appointments_created", table_name="appointments")
    op.drop_index("ix_sms_kind_status_updated", table_name="sms_messages")
    with op.batch_alter_table("reminders") as batch_op:
        batch_op.drop_index("ix_reminders_kind_due")
        batch_op.drop_index("ix_reminders_appointment")
        batch_op.create_index("ix_reminders_appointment_id", ["appointment_id"])
