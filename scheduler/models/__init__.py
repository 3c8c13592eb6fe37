"""The tables, in four modules; every model is importable from here.

    base.py         `Base` (the metadata and its naming convention), `UTCDateTime`, `utcnow`,
                    `CELL_MINUTES`
    scheduling.py   the schedule: providers, resources, appointment types, patients, appointments
                    and their `Occupancy`, reminders, the waitlist
    operations.py   running the service: conversation sessions, message receipts, refusal tallies,
                    the outbox, SMS deliveries, the audit chain, job leases
    ehr.py          the queue of appointment changes to tell the EHR (FHIR notifications)
    accounts.py     who signs in: staff users (Slack id, login or both), portal sessions, API
                    tokens, the API's idempotent requests, the patients' name index

Importing the package imports every module, so `Base.metadata` holds every table (what Alembic's
migrations/env.py and the tests' schema need).

Every instant is stored as UTC (naive in the database, aware in Python, see `UTCDateTime`).
Personal fields and message text are stored encrypted (`*_enc` columns, Fernet tokens); a phone
number is found again through `phone_index`, a keyed hash, never through the clear number.

No double-booking is enforced by `Occupancy`: a booked appointment holds one row per
`CELL_MINUTES` cell for each thing it occupies (provider, room, equipment), and the primary key
(resource, cell) makes the second of two overlapping bookings fail, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from .accounts import ApiToken, IdempotentRequest, PatientNameToken, PortalSession, StaffUser
from .base import CELL_MINUTES, Base, UTCDateTime, utcnow
from .ehr import EHR_DELIVERED, EHR_FAILED, EHR_PENDING, EHR_SENDING, EhrNotification
from .operations import (
    AuditEvent,
    ConversationSession,
    EngineTurn,
    JobLease,
    MessageReceipt,
    OutboxMessage,
    RefusalTally,
    SmsMessage,
)
from .scheduling import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ClinicRecord,
    Occupancy,
    Patient,
    Provider,
    Reminder,
    Resource,
    ResourceKind,
    WaitlistEntry,
    WaitlistOffer,
)

__all__ = [
    "ACTIVE_STATUSES",
    "CELL_MINUTES",
    "EHR_DELIVERED",
    "EHR_FAILED",
    "EHR_PENDING",
    "EHR_SENDING",
    "ApiToken",
    "Appointment",
    "AppointmentStatus",
    "AppointmentType",
    "AuditEvent",
    "Base",
    "ClinicRecord",
    "ConversationSession",
    "EhrNotification",
    "EngineTurn",
    "IdempotentRequest",
    "JobLease",
    "MessageReceipt",
    "Occupancy",
    "OutboxMessage",
    "Patient",
    "PatientNameToken",
    "PortalSession",
    "Provider",
    "RefusalTally",
    "Reminder",
    "Resource",
    "ResourceKind",
    "SmsMessage",
    "StaffUser",
    "UTCDateTime",
    "WaitlistEntry",
    "WaitlistOffer",
    "utcnow",
]
