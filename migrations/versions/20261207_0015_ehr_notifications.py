"""ehr_notifications: the queue of appointment changes to tell the EHR (FHIR rest-hook)

One row per booking, move, cancellation or attendance mark while EHR_WEBHOOK_URL is set, written
in the change's own transaction (bot/ehr_notices.py) and sent by the job workers
(jobs/ehr_webhook.py) in order per appointment. Partial indexes keep the claim's index the size of
the queue, and the "earlier change still undelivered?" check the size of what is undelivered.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-07 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

UNSENT = sa.text("status IN ('pending', 'sending')")
UNDELIVERED = sa.text("status <> 'delivered'")


def upgrade() -> None:
    op.create_table(
        "ehr_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("payload_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("first_attempt_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("delivered_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("failed_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name="fk_ehr_notifications_appointment_id_appointments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ehr_notifications"),
    )
    op.create_index(
        "ix_ehr_notifications_due",
        "ehr_notifications",
        ["status", "next_attempt_at"],
        postgresql_where=UNSENT,
        sqlite_where=UNSENT,
    )
    op.create_index(
        "ix_ehr_notifications_waiting",
        "ehr_notifications",
        ["appointment_id", "id"],
        postgresql_where=UNDELIVERED,
        sqlite_where=UNDELIVERED,
    )
    op.create_index(
        "ix_ehr_notifications_status_created", "ehr_notifications", ["status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_ehr_notifications_status_created", table_name="ehr_notifications")
    op.drop_index("ix_ehr_notifications_waiting", table_name="ehr_notifications")
    op.drop_index("ix_ehr_notifications_due", table_name="ehr_notifications")
    op.drop_table("ehr_notifications")
