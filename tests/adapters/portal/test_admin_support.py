"""What the admin pages' tests share (no tests here; the app, the users "boss" and "clerk" and
their signed-in clients are conftest.py's fixtures): signing in, the CSRF token of a page, a POST
with it, the rows a refused request must leave alone. Invented names and 555-01xx numbers only.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from scheduler import staff_users
from scheduler.models import ApiToken, AuditEvent, StaffUser
from scheduler.patients import find_or_create_patient, set_patient_name

PASSWORD = "violet-lantern-orbit-42"  # conftest's for "clerk"
OTHER_PASSWORD = "quartz-meadow-falcon-19"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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


def csrf_of(response) -> str:
    found = _CSRF.search(response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD) -> None:
    token = csrf_of(client.get("/login"))
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/portal/"},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)


def post(client, path: str, data: dict | None = None, *, token_from: str = "/portal/"):
    """POST a form with this session's CSRF token (read from the page at `token_from`)."""
    token = csrf_of(client.get(token_from))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def page(response) -> str:
    return response.get_data(as_text=True)


def user_row(services, username: str) -> StaffUser | None:
    with services.sessions() as db:
        return db.scalar(select(StaffUser).where(StaffUser.username == username))


def events(services, prefix: str = "") -> list[AuditEvent]:
    with services.sessions() as db:
        return list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.kind.like(prefix + "%"))
                .order_by(AuditEvent.seq)
            )
        )


def state(services) -> tuple:
    """What a refused request must leave as it was: users, tokens, and the audit trail's
    changes (sign-ins and page views aside)."""
    with services.sessions() as db:
        users = db.execute(
            select(
                StaffUser.id,
                StaffUser.username,
                StaffUser.role,
                StaffUser.password_hash,
                StaffUser.locked_until,
            ).order_by(StaffUser.id)
        ).all()
        tokens = db.execute(select(ApiToken.id, ApiToken.revoked_at).order_by(ApiToken.id)).all()
        changes = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind.like("staff_user_%") | AuditEvent.kind.like("api_token_%"))
        )
    return users, tokens, changes


def add_patient(services, phone: str, name: str) -> int:
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, phone, now=services.clock())
        set_patient_name(services.vault, patient, name)
        db.flush()
        return patient.id
