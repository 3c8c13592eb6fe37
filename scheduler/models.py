"""The clinic's tables: who, what, where and when, plus the conversation and audit records.

Every instant is stored as UTC (naive in the database, aware in Python, see `UTCDateTime`).
Personal fields and message text are stored encrypted (`*_enc` columns, Fernet tokens); a phone
number is found again through `phone_index`, a keyed hash, never through the clear number.

No double-booking is enforced by `Occupancy`: a booked appointment holds one row per
`CELL_MINUTES` cell for each thing it occupies (provider, room, equipment), and the primary key
(resource, cell) makes the second of two overlapping bookings fail, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The grain of the no-overlap guarantee. Durations and buffers are whole multiples of it.
CELL_MINUTES = 5


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python, a naive UTC timestamp in the database.

    Refuses naive datetimes on the way in: a time without a zone is a bug, not a guess.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    # Every model is mapped to a Table (SQLAlchemy types __table__ as any FromClause).
    __table__: ClassVar[Table]
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class AppointmentStatus(str, enum.Enum):
    """FHIR Appointment.status values the clinic uses."""

    PROPOSED = "proposed"
    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    ENTERED_IN_ERROR = "entered-in-error"


# Statuses that hold their slot.
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED)


class ResourceKind(str, enum.Enum):
    ROOM = "room"
    EQUIPMENT = "equipment"


class ClinicRecord(Base):
    """The loaded clinic file: one row, the validated configuration as JSON."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Resource(Base):
    """A room or a piece of equipment; each row is one bookable unit."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ResourceKind] = mapped_column(
        Enum(
            ResourceKind,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AppointmentType(Base):
    __tablename__ = "appointment_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # A demo channel's own patients ("web": the web chat, where anyone may type any fictional
    # number): their index is of "web:" and the number (scheduler/patients.py), so they are
    # never the SMS channel's patient with that number. None: a real patient.
    scope: Mapped[str | None] = mapped_column(String(16))
    # The language they are served in ("en", "es"), told from what they write (bot/understanding/language.py);
    # None until then: the clinic's default.
    language: Mapped[str | None] = mapped_column(String(8))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    timezone: Mapped[str | None] = mapped_column(String(64))
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_window", "start_at", "occupied_until"),
        Index("ix_appointments_patient", "patient_id", "start_at"),
        # One holder's calendar: slot search reads just the providers, rooms and equipment
        # it needs (scheduler/availability/ uses them when present).
        Index("ix_appointments_provider", "provider_id", "start_at"),
        Index("ix_appointments_room", "room_id", "start_at"),
        Index("ix_appointments_equipment", "equipment_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"))
    type_id: Mapped[int] = mapped_column(ForeignKey("appointment_types.id"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("resources.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # end_at plus the type's buffer: what the appointment keeps others out of.
    occupied_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AppointmentStatus] = mapped_column(
        Enum(
            AppointmentStatus,
            native_enum=False,
            length=24,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=AppointmentStatus.BOOKED,
    )
    booked_via: Mapped[str] = mapped_column(String(32), default="web")
    # Who the visit is for when not the patient who booked it (a child, a parent): their name,
    # encrypted. The patient stays the contact: texts and reminders go to them.
    attendee_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the maintenance job when the time passed without a check-in: staff record the
    # outcome (fulfilled, noshow); the status and the occupancy are left alone.
    outcome_needed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship(lazy="joined")
    provider: Mapped[Provider] = relationship(lazy="joined")
    appointment_type: Mapped[AppointmentType] = relationship(lazy="joined")
    room: Mapped[Resource | None] = relationship(foreign_keys=[room_id], lazy="joined")
    equipment: Mapped[Resource | None] = relationship(foreign_keys=[equipment_id], lazy="joined")


class Occupancy(Base):
    """One `CELL_MINUTES` cell of one provider's or resource's time, held by one appointment.

    `holder` is "provider:<id>" or "resource:<id>"; `cell` counts cells since the Unix epoch (UTC).
    The primary key is the no-double-booking guarantee.
    """

    __tablename__ = "occupancy"

    holder: Mapped[str] = mapped_column(String(32), primary_key=True)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )


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
    # When the text was replaced by its digest (retention, erasure: bot/audit.py). Not hashed:
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


class StaffUser(Base):
    """A clinic team member who may use the staff tools in Slack: their Slack user id and role.

    "staff" schedule for any patient (`/appt`, a DM with the bot); "admin" also run the clinic
    (`/appt-admin`). Anyone not listed here is refused. See scheduler/staff_users.py.
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by: Mapped[str | None] = mapped_column(String(64))


class Reminder(Base):
    """One text the clinic owes a patient at `due_at`: an appointment reminder, or a waitlist offer.

    The database, not the job scheduler's memory, is the truth (jobs/reminders.py): a due row is
    claimed with a lease (`status` "sending", `lease_owner`, `lease_until`), sent, and recorded
    "sent"; a lease that runs out means its worker died, and another worker sends it. Statuses:
    pending, sending, sent, failed, cancelled (the appointment changed or the patient opted out),
    expired (its moment passed unsent: the appointment already started, or a later one superseded
    it).
    """

    __tablename__ = "reminders"
    # Partial: the claim's indexes hold the rows still to send, not every reminder ever sent.
    __table_args__ = (
        Index(
            "ix_reminders_due",
            "status",
            "due_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        Index(
            "ix_reminders_lease",
            "status",
            "lease_until",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="reminder")  # "reminder" | "offer"
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    patient_id: Mapped[int] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobLease(Base):
    """A named lease one process holds at a time (the in-process scheduler under several web
    workers, a maintenance job), or a marker that a once-a-day job already ran."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """A patient waiting for an earlier time of one appointment type (scheduler/waitlist.py)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index("ix_waitlist_waiting", "status", "type_key", "priority_rank", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    type_key: Mapped[str] = mapped_column(String(64))
    provider_key: Mapped[str | None] = mapped_column(String(64))
    earliest: Mapped[date | None] = mapped_column(Date)
    latest: Mapped[date | None] = mapped_column(Date)
    priority: Mapped[str] = mapped_column(String(16), default="routine")  # urgent | routine
    priority_rank: Mapped[int] = mapped_column(Integer, default=1)  # 0 urgent, 1 routine
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|booked|removed
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    appointment_id: Mapped[int | None] = mapped_column(Integer)


class WaitlistOffer(Base):
    """A freed slot offered to one waiting patient, held for them until `expires_at`.

    Statuses: offered (held, texted or about to be), accepted (they got it), taken (someone else
    got it first), expired (no answer in time), declined (they said NO)."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        Index("ix_waitlist_offers_slot", "slot_key", "status"),
        Index("ix_waitlist_offers_patient", "patient_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id"), index=True)
    patient_id: Mapped[int] = mapped_column(Integer)
    slot_key: Mapped[str] = mapped_column(String(128))  # "<provider>@<start ISO>"
    slot: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="offered")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(Integer)
