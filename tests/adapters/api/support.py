"""What the API tests share: the app's settings, users and their tokens, a patient, row counts.

All names and numbers are invented (555-01xx numbers).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot.settings import Settings
from bot.tools import Caller, SchedulingTools
from scheduler.accounts import create_token, revoke_token
from scheduler.models import (
    Appointment,
    AuditEvent,
    IdempotentRequest,
    Occupancy,
    Patient,
    Reminder,
    StaffUser,
    WaitlistEntry,
    WaitlistOffer,
)
from scheduler.patients import find_or_create_patient, set_patient_name

# Wednesday 2026-03-04, 09:00 in New York.
NOW = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
PHONE = "+12125550142"
OTHER_PHONE = "+12125550177"
NAME = "Jordan Testperson"


def api_settings(tmp_path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_user(services, username: str, role: str, *, revoked: bool = False) -> str:
    """A staff user with one API token; returns the token."""
    with services.sessions.begin() as db:
        user = StaffUser(username=username, role=role, added_at=NOW, added_by="tests")
        db.add(user)
        db.flush()
        row, token = create_token(db, user, "tests", NOW)
        if revoked:
            revoke_token(db, row.id, NOW)
    return token


def add_patient(services, phone: str = PHONE, name: str = NAME) -> int:
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, phone, now=NOW)
        set_patient_name(services.vault, patient, name)
        db.flush()
        return patient.id


COUNTED = (
    Appointment,
    Occupancy,
    Patient,
    Reminder,
    WaitlistEntry,
    WaitlistOffer,
    IdempotentRequest,
)


def counts(services, *, audit: bool = False) -> dict[str, object]:
    """How many rows each table of the schedule holds, and the appointments' statuses and
    times: what a refused request must leave as it was (`audit`: the audit trail too)."""
    with services.sessions() as db:
        found: dict[str, object] = {
            model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in COUNTED + ((AuditEvent,) if audit else ())
        }
        found["appointment_states"] = db.execute(
            select(
                Appointment.id, Appointment.status, Appointment.start_at, Appointment.provider_id
            ).order_by(Appointment.id)
        ).all()
        found["waitlist_states"] = db.execute(
            select(WaitlistEntry.id, WaitlistEntry.status).order_by(WaitlistEntry.id)
        ).all()
    return found


def audit_events(services, kind: str | None = None) -> list[AuditEvent]:
    with services.sessions() as db:
        query = select(AuditEvent).order_by(AuditEvent.seq)
        if kind is not None:
            query = query.where(AuditEvent.kind == kind)
        return list(db.scalars(query))


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(NEW_YORK)


def book_earlier(services, patient_id: int, day: date, at: time, provider: str = "okafor") -> int:
    """A check-up at `at` on `day` (clinic time) booked three days before it, through the tools
    as staff: a visit that may have started, or ended, by the test clock's now."""
    booked_at = datetime.combine(day, time(9), NEW_YORK).astimezone(UTC) - timedelta(days=3)
    caller = Caller(role="staff", channel="api", staff_id="tests")
    with services.sessions.begin() as db:
        tools = SchedulingTools(db, services.clinic, services.audit, caller, booked_at)
        [slot] = tools.find_slots(
            "checkup", start_date=day, end_date=day, provider_key=provider, around=at, limit=1
        )
        assert slot.start.astimezone(NEW_YORK).time() == at, slot
        return tools.book_appointment(slot, patient_id).id
