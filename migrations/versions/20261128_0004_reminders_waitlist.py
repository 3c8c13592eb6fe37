"""reminders, job leases, waitlist entries and offers; appointments needing an outcome

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("offer_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("due_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("last_error_code", sa.String(length=32), nullable=True),
        sa.Column("created_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_reminders_appointment_id_appointments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index("ix_reminders_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_reminders_lease", ["status", "lease_until"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_reminders_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reminders_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reminders_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("until", scheduler.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_leases")),
    )

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("provider_key", sa.String(length=64), nullable=True),
        sa.Column("earliest", sa.Date(), nullable=True),
        sa.Column("latest", sa.Date(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_waitlist_entries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waitlist_waiting",
            ["status", "type_key", "priority_rank", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("slot_key", sa.String(length=128), nullable=False),
        sa.Column("slot", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("offered_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("answered_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
    )
    with op.batch_alter_table("waitlist_offers", schema=None) as batch_op:
        batch_op.create_index("ix_waitlist_offers_slot", ["slot_key", "status"], unique=False)
        batch_op.create_index("ix_waitlist_offers_patient", ["patient_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_offers_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_waitlist_offers_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome_needed_at", scheduler.models.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("outcome_needed_at")
    op.drop_table("waitlist_offers")
    op.drop_table("waitlist_entries")
    op.drop_table("job_leases")
    op.drop_table("reminders")
