"""The EHR notification queue: one row per change of an appointment to tell the EHR about
(bot/ehr_notices.py queues it in the change's own transaction; jobs/ehr_webhook.py sends it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

# A notification's life: pending -> sending (claimed, under a lease) -> delivered, or back to
# pending with a later `next_attempt_at`, or failed once it has failed for a day of attempts (an
# admin may send it again: pending, with a new day).
EHR_PENDING, EHR_SENDING, EHR_DELIVERED, EHR_FAILED = "pending", "sending", "delivered", "failed"


class EhrNotification(Base):
    """One change of one appointment, with the FHIR Appointment as it was then (encrypted JSON:
    it names the patient by id only, but the queue keeps what the EHR is told out of clear
    text all the same). Sent in `id` order per appointment: a row waits while an earlier row of
    its appointment is not delivered."""

    __tablename__ = "ehr_notifications"
    __table_args__ = (
        # The claim walks the due rows from the front; only unsent rows are indexed.
        Index(
            "ix_ehr_notifications_due",
            "status",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        # "Is an earlier change of this appointment still undelivered?": the rows not delivered.
        Index(
            "ix_ehr_notifications_waiting",
            "appointment_id",
            "id",
            postgresql_where=text("status <> 'delivered'"),
            sqlite_where=text("status <> 'delivered'"),
        ),
        # The admins' list of failed ones, newest first.
        Index("ix_ehr_notifications_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    # "booked", "rescheduled", "cancelled", "attendance" (arrived, fulfilled, noshow)
    event: Mapped[str] = mapped_column(String(16))
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=EHR_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the last attempt got: "http_500", "timeout", "connection", ...
    last_error: Mapped[str | None] = mapped_column(String(64))
    # The first attempt since it was queued (or resent): it fails for good a day after that.
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
