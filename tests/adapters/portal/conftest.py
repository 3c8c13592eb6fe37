"""What the portal's tests share: the real app (SQLite and PostgreSQL) with the test clock, a
staff user ("clerk") and an admin ("boss"), signing in through the form, the CSRF token of a
page, booked appointments, and the audit trail. Invented names and 555-01xx numbers only.

The clinic's now is Wednesday 2026-03-04 09:00 in New York (tests/conftest.py `now`).
"""

from __future__ import annotations

import re
from datetime import date, time
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app
from bot.services import services_of
from bot.settings import Settings
from bot.tools import Caller, SchedulingTools
from scheduler import staff_users
from scheduler.models import AuditEvent, PortalSession
from scheduler.patients import find_or_create_patient, set_patient_name

PASSWORD = "violet-lantern-orbit-42"
ADMIN_PASSWORD = "amber-kettle-nimbus-77"
MON = date(2026, 3, 9)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_app(tmp_path, database_url, clock, **config):
    settings = Settings(
        database_url=database_url,
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
        **config,
    )
    return create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})


@pytest.fixture
def app(tmp_path, database_url, clock):
    app = make_app(tmp_path, database_url, clock)
    yield app
    services_of(app).engine.dispose()


def add_user(services, username: str, role: str, password: str = PASSWORD) -> int:
    with services.sessions.begin() as db:
        user = staff_users.add_user(
            db,
            None,
            role,
            added_by="tests",
            now=services.clock(),
            username=username,
            password=password,
        )
        db.flush()
        return user.id


@pytest.fixture
def clerk(services):
    """A staff user's id: "clerk", with PASSWORD."""
    return add_user(services, "clerk", "staff")


@pytest.fixture
def boss(services):
    """An admin's id: "boss", with ADMIN_PASSWORD."""
    return add_user(services, "boss", "admin", ADMIN_PASSWORD)


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf_of(response) -> str:
    found = _CSRF.search(text(response))
    assert found, "the page has no CSRF token"
    return found.group(1)


def try_sign_in(client, username: str, password: str = PASSWORD, next_: str | None = None):
    token = csrf_of(client.get("/login"))
    data = {"username": username, "password": password, "csrf_token": token}
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def sign_in(client, username: str = "clerk", password: str = PASSWORD):
    answer = try_sign_in(client, username, password)
    assert answer.status_code == 303, text(answer)
    return answer


@pytest.fixture
def staff(app, clerk):
    """A test client signed in as the staff user "clerk"."""
    client = app.test_client()
    sign_in(client, "clerk")
    return client


@pytest.fixture
def admin(app, boss):
    """A test client signed in as the admin "boss"."""
    client = app.test_client()
    sign_in(client, "boss", ADMIN_PASSWORD)
    return client


@pytest.fixture
def people(admin, staff, boss, clerk):
    """The admin "boss" and the staff user "clerk": their signed-in clients and their ids."""
    return SimpleNamespace(admin=admin, staff=staff, boss=boss, clerk=clerk)


def post(client, path: str, data: dict | None = None, *, token_from: str = "/portal/"):
    """POST a form with this session's CSRF token (read from the page at `token_from`)."""
    token = csrf_of(client.get(token_from))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def add_patient(services, phone: str = "+12125550123", name: str = "Rosa Quintero") -> int:
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, phone, now=services.clock())
        set_patient_name(services.vault, patient, name)
        db.flush()
        return patient.id


def book(services, patient_id: int, at: time = time(10, 0), day: date = MON, **kw) -> int:
    """Book a check-up with Dr. Okafor at `at` on `day` through the tools (as Slack staff)."""
    type_key, provider = kw.get("type_key", "checkup"), kw.get("provider", "okafor")
    caller = Caller(role="staff", channel="slack", staff_id="U1")
    with services.sessions.begin() as db:
        tools = SchedulingTools(db, services.clinic, services.audit, caller, services.clock())
        slots = tools.find_slots(
            type_key, start_date=day, end_date=day, provider_key=provider, around=at, limit=1
        )
        assert slots and slots[0].start.astimezone(services.clinic.zone).time() == at
        return tools.book_appointment(slots[0], patient_id=patient_id).id


def events(services, kind: str) -> list[AuditEvent]:
    with services.sessions() as db:
        return list(
            db.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq))
        )


def portal_sessions(services) -> list[str]:
    with services.sessions() as db:
        return list(db.scalars(select(PortalSession.digest).order_by(PortalSession.id)))
