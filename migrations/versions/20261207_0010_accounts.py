"""accounts: portal logins, portal sessions, API tokens, idempotent requests, the name index

- `staff_users`: a person is reached by a Slack id, a portal login or both (`slack_user_id`
  becomes optional, `username` and the argon2id `password_hash` are new, with the failed sign-ins
  in a row and the lock they lead to).
- `portal_sessions`, `api_tokens`: digests of the secrets, never the secrets.
- `idempotent_requests`: an API POST's `Idempotency-Key` with its (encrypted) answer.
- `patient_name_tokens`: one keyed hash per word of a patient's name, for staff's search.
  Existing patients are indexed the first time the app starts after this migration
  (scheduler/patients.py `index_missing_names`), since the key is not known here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import scheduler.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("slack_user_id", existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("password_changed_at", scheduler.models.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failed_sign_ins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("locked_until", scheduler.models.UTCDateTime(), nullable=True)
        )
        batch_op.create_unique_constraint("uq_staff_users_username", ["username"])
        batch_op.create_check_constraint(
            "ck_staff_users_reachable_somehow", "slack_user_id IS NOT NULL OR username IS NOT NULL"
        )
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("created_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", scheduler.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "idempotent_requests",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("created_at", scheduler.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "key"),
    )
    op.create_index("ix_idempotent_requests_created_at", "idempotent_requests", ["created_at"])
    op.create_table(
        "patient_name_tokens",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("token_index", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("patient_id", "token_index"),
    )
    op.create_index("ix_patient_name_tokens_token_index", "patient_name_tokens", ["token_index"])


def downgrade() -> None:
    op.drop_index("ix_patient_name_tokens_token_index", table_name="patient_name_tokens")
    op.drop_table("patient_name_tokens")
    op.drop_index("ix_idempotent_requests_created_at", table_name="idempotent_requests")
    op.drop_table("idempotent_requests")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("portal_sessions")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint("ck_staff_users_reachable_somehow", type_="check")
        batch_op.drop_constraint("uq_staff_users_username", type_="unique")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_sign_ins")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("username")
        batch_op.alter_column("slack_user_id", existing_type=sa.String(length=32), nullable=False)
