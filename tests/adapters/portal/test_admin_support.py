"""What only the admin pages' tests share (no tests here; signing in, CSRF tokens, POSTs, users
and patients are conftest.py's): a second password, a user's row, audit events by kind prefix, and
the rows a refused request must leave alone. Invented names and 555-01xx numbers only.
"""

from __future__ import annotations

from sqlalchemy import func, select

from scheduler.models import ApiToken, AuditEvent, StaffUser

OTHER_PASSWORD = "quartz-meadow-falcon-19"


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
