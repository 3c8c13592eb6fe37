"""The tables of who signs in (scheduler/accounts.py, scheduler/staff_users.py): staff users,
their portal sessions and API tokens, the API's idempotent requests, and the keyed index that
finds a patient by a word of their name without decrypting anyone's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class StaffUser(Base):
    """A clinic team member: one person, one role, reached by a Slack user id, by a portal login
    (username and argon2id password hash), or both.

    "staff" schedule for any patient (`/appt`, a DM with the bot, the portal, the API); "admin"
    also run the clinic (`/appt-admin`, the portal's admin pages). Anyone not listed here is
    refused. See scheduler/staff_users.py and scheduler/accounts.py.
    """

    __tablename__ = "staff_users"
    __table_args__ = (
        CheckConstraint(
            "slack_user_id IS NOT NULL OR username IS NOT NULL", name="reachable_somehow"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failed sign-ins in a row; at five the login is locked until `locked_until`.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def name(self) -> str:
        """How the audit trail and the pages name them: their login, else their Slack id."""
        return self.username or self.slack_user_id or f"user {self.id}"


class PortalSession(Base):
    """A signed-in portal session: the SHA-256 digest of the cookie's secret, never the secret."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token of the REST API, carrying its user's role: the SHA-256 digest of the token
    and its last four characters (to tell tokens apart in a list), never the token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# How long an `Idempotency-Key` is remembered: the same key within it is answered the same, after
# it the key is a new request (adapters/api/idempotency.py); the maintenance job deletes the older
# rows (jobs/maintenance.py `purge_idempotent_requests`).
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)


class IdempotentRequest(Base):
    """A POST with an `Idempotency-Key`, kept with its answer so that a retry is answered the
    same without doing it twice. `fingerprint`: SHA-256 of the method, path and body (the same
    key with another body is refused); the answer's body is encrypted (it may name a patient)."""

    __tablename__ = "idempotent_requests"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    location: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PatientNameToken(Base):
    """One word of a patient's name as a keyed hash (`Vault.index` of the word, normalized), so
    that staff can find "Rivera" although names are stored encrypted."""

    __tablename__ = "patient_name_tokens"

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )
    token_index: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
