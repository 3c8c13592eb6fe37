"""staff users: clinic staff and admins bound to Slack user ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("slack_user_id", name=op.f("uq_staff_users_slack_user_id")),
    )


def downgrade() -> None:
    op.drop_table("staff_users")
