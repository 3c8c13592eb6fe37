"""sms channel: delivery status per outbound text, sender index and reply path on receipts

Also creates the per-holder appointment indexes declared in scheduler/models.py (slot search reads
one provider's, room's or equipment's calendar; scheduler/availability.py uses them when present).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:16:26.832241
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_rank", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_sms_messages_message_sid")),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sms_messages_patient_id"), ["patient_id"], unique=False
        )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_equipment", ["equipment_id", "start_at"], unique=False
        )
        batch_op.create_index("ix_appointments_provider", ["provider_id", "start_at"], unique=False)
        batch_op.create_index("ix_appointments_room", ["room_id", "start_at"], unique=False)

    with op.batch_alter_table("message_receipts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reply_via", sa.String(length=16), nullable=True))
        batch_op.create_index(
            "ix_message_receipts_sender", ["sender_index", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_receipts", schema=None) as batch_op:
        batch_op.drop_index("ix_message_receipts_sender")
        batch_op.drop_column("reply_via")
        batch_op.drop_column("sender_index")

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_room")
        batch_op.drop_index("ix_appointments_provider")
        batch_op.drop_index("ix_appointments_equipment")

    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_messages_patient_id"))

    op.drop_table("sms_messages")
