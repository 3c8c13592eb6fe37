"""The tables of running the service rather than the schedule: conversation sessions, message
receipts and refusal tallies, the outbox and SMS deliveries, the audit chain, and the leases jobs
hold.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class ConversationSession(Base):
    """One person's conversation state on one channel, encrypted, ended after idle time."""

    __tablename__ = "conversation_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_index: Mapped[str] = mapped_column(String(64), unique=True)
    state_enc: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RefusalTally(Base):
    """Refused webhook requests of one source address, minute, endpoint and reason, added by
    each web process about once a minute (adapters/refusals.py): a flood of forged requests
    costs one write a minute, not one each."""

    __tablename__ = "refusal_tallies"
    __table_args__ = (
        UniqueConstraint("source", "minute", "endpoint", "reason", name="uq_refusal_tallies_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    minute: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    endpoint: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)


class MessageReceipt(Base):
    """An inbound message already handled: its channel id, and the reply it got (encrypted).

    The unique key makes the claim of a retried webhook one atomic insert. `sender_index` (the
    sender's blind index, SMS only) lets the engine count a number's recent messages (the rate
    limit) in the database, so every process sees the same count. `reply_via` says how the reply
    left: "twiml" (in the webhook's answer, stored in `reply_enc` for retries), "rest" (promised
    through the REST API because the engine was slow), "rest_sent" or "rest_failed".
    """

    __tablename__ = "message_receipts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_message_receipts_sender", "sender_index", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    sender_index: Mapped[str | None] = mapped_column(String(64))
    reply_via: Mapped[str | None] = mapped_column(String(16))
    reply_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMessage(Base):
    """A message the clinic sent where no SMS provider is configured (and the record of each send)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    recipient_index: Mapped[str] = mapped_column(String(64), index=True)
    recipient_enc: Mapped[bytes] = mapped_column(LargeBinary)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(32), default="notice")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsMessage(Base):
    """One text the clinic sent through Twilio's REST API, and how far it got.

    Status callbacks move `status` forward only (`status_rank`), so a late or repeated callback
    never turns "delivered" back into "sent". No phone number or text here: `patient_id` links it.
    """

    __tablename__ = "sms_messages"
    # The dashboard's delivery figures range over updated_at (scheduler/analytics/follow_up.py).
    __table_args__ = (Index("ix_sms_kind_status_updated", "kind", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    status_rank: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """One link of the audit chain. `hash` covers the previous hash, the fields and the clear text."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    appointment_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # When the text was replaced by its digest (retention, erasure: bot/audit/trail.py). Not hashed:
    # it only lets the purge find what is left to do; the digest keeps the chain checkable.
    text_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "ix_audit_events_text_kept",
            "at",
            postgresql_where=text("text_removed_at IS NULL"),
            sqlite_where=text("text_removed_at IS NULL"),
        ),
    )


class EngineTurn(Base):
    """One patient turn as the analytics see it, written in the turn's own transaction: which
    engine answered (the model on Bedrock or the local dialogue), whether it stood in for a
    failing or cooling-down model, how long it took, the model's calls and tokens, and what the
    turn did. `conversation` is a digest of the person's index and the day (one person's turns on
    one channel on one day), never a phone number or name. `day` is the clinic-local date of `at`
    (the conversation's day), stored so that the dashboard neither computes it per row nor reads
    the table: its index holds every column the figures read (migration 0016)."""

    __tablename__ = "engine_turns"
    __table_args__ = (
        Index(
            "ix_engine_turns_day",
            "day",
            "engine",
            "channel",
            "fallback",
            "error",
            "input_tokens",
            "output_tokens",
            "latency_ms",
            "conversation",
            "outcome",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed for the dashboards of the releases before migration 0016 (a rolling restart);
    # nothing reads it by `at` since: a later release drops the index.
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # None only for a turn written by a node still on the code before migration 0016 (a rolling
    # restart), until the maintenance job dates it.
    day: Mapped[date | None] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(32))
    engine: Mapped[str] = mapped_column(String(16))  # "bedrock" | "local"
    fallback: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(40))  # the model's failure, when it failed
    latency_ms: Mapped[float] = mapped_column(Float)
    model_calls: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    conversation: Mapped[str] = mapped_column(String(16))
    # What the turn did: "booked", "rescheduled", "cancelled", "handoff", or None.
    outcome: Mapped[str | None] = mapped_column(String(16))


class JobLease(Base):
    """A named lease one process holds at a time (the in-process scheduler under several web
    workers, a maintenance job), or a marker that a once-a-day job already ran."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
