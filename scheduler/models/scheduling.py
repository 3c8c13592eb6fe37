"""The schedule's tables: the clinic's providers, resources and appointment types, patients,
appointments and the `Occupancy` that keeps them apart, the reminders they owe, the waitlist.

No double-booking is enforced by `Occupancy`: a booked appointment holds one row per
`CELL_MINUTES` cell for each thing it occupies (provider, room, equipment), and the primary key
(resource, cell) makes the second of two overlapping bookings fail, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow


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

    @property
    def of_the_clinic(self) -> bool:
        """A real patient of the clinic: not a demo channel's, not erased (whom staff, the API
        and the EHR may book for and see)."""
        return self.scope is None and self.erased_at is None


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
        # The dashboard's bookings by channel range over when they were made.
        Index("ix_appointments_created", "created_at", "booked_via"),
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
    # The patient's answer to a reminder of this visit: "C" (will come), "R" (asked to move it),
    # "X" (cancelled it); the last one counts. For the analytics (scheduler/analytics/).
    reminder_answer: Mapped[str | None] = mapped_column(String(1))
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


class Reminder(Base):
    """One text the clinic owes a patient at `due_at`: an appointment reminder, or a waitlist offer.

    The database, not the job scheduler's memory, is the truth (jobs/reminders/): a due row is
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
        # A visit's reminders, and whether one was sent, from the index alone (the dashboard
        # asks it of every visit in its range); the dashboard's reminder counts range over due_at
        # (scheduler/analytics/follow_up.py).
        Index("ix_reminders_appointment", "appointment_id", "kind", "status"),
        Index("ix_reminders_kind_due", "kind", "due_at", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="reminder")  # "reminder" | "offer"
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
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
    priority: Mapped[str] = mapped_column(String(16), default="routine")  # urgent|soon|routine
    priority_rank: Mapped[int] = mapped_column(Integer, default=3)  # scheduler/urgency.RANK
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
