"""Who may use the staff tools: clinic staff and admins, bound to their Slack user ids.

The table is the only source of a role: a Slack request is authorized by looking its user id up
here, never by anything the request says about itself. The first admin is made from the shell
(`flask --app app users add --slack-id U... --role admin`); after that admins manage the list in
Slack with `/appt-admin users ...`. The last admin can be neither removed nor demoted, so the
clinic cannot lock itself out of Slack by accident.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import SchedulingError
from .models import StaffUser

ROLES = ("staff", "admin")
# Slack user ids: "U" (or "W" on Enterprise Grid) and upper-case letters and digits.
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class StaffUserError(SchedulingError):
    """A change to the staff list that cannot be made; the message says why, for the operator."""


def valid_slack_user_id(value: str) -> bool:
    return bool(_SLACK_USER_ID.match(value or ""))


def _check(slack_user_id: str, role: str | None = None) -> None:
    if not valid_slack_user_id(slack_user_id):
        raise StaffUserError(f"{slack_user_id!r} is not a Slack user id (like U012ABCDEF)")
    if role is not None and role not in ROLES:
        raise StaffUserError(f"the role must be staff or admin, not {role!r}")


def role_of(session: Session, slack_user_id: str) -> str | None:
    """ "staff", "admin", or None for anyone not on the list."""
    if not valid_slack_user_id(slack_user_id):
        return None
    role = session.scalar(select(StaffUser.role).where(StaffUser.slack_user_id == slack_user_id))
    return role if role in ROLES else None


def list_users(session: Session) -> list[StaffUser]:
    """Everyone on the list, admins first, then by the date they were added."""
    return list(
        session.scalars(
            select(StaffUser).order_by(
                (StaffUser.role != "admin"), StaffUser.added_at, StaffUser.id
            )
        )
    )


def get_user(session: Session, slack_user_id: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.slack_user_id == slack_user_id))


def add_user(
    session: Session, slack_user_id: str, role: str, *, added_by: str, now: datetime
) -> StaffUser:
    """Put a Slack user on the list; StaffUserError when they are on it already."""
    _check(slack_user_id, role)
    if get_user(session, slack_user_id) is not None:
        raise StaffUserError(
            f"{slack_user_id} is already on the staff list (change their role instead)"
        )
    user = StaffUser(slack_user_id=slack_user_id, role=role, added_at=now, added_by=added_by)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:  # added by someone else a moment ago
        raise StaffUserError(f"{slack_user_id} is already on the staff list") from None
    return user


def _admins(session: Session) -> int:
    return (
        session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.role == "admin"))
        or 0
    )


def _existing(session: Session, slack_user_id: str) -> StaffUser:
    _check(slack_user_id)
    user = session.scalar(
        select(StaffUser).where(StaffUser.slack_user_id == slack_user_id).with_for_update()
    )
    if user is None:
        raise StaffUserError(f"{slack_user_id} is not on the staff list")
    return user


def remove_user(session: Session, slack_user_id: str) -> str:
    """Take a Slack user off the list; returns the role they had."""
    user = _existing(session, slack_user_id)
    if user.role == "admin" and _admins(session) <= 1:
        raise StaffUserError("that is the last admin; make another admin first")
    role = user.role
    session.delete(user)
    session.flush()
    return role


def set_role(session: Session, slack_user_id: str, role: str) -> str:
    """Change a listed user's role; returns the role they had."""
    _check(slack_user_id, role)
    user = _existing(session, slack_user_id)
    old = user.role
    if old == "admin" and role != "admin" and _admins(session) <= 1:
        raise StaffUserError("that is the last admin; make another admin first")
    user.role = role
    session.flush()
    return old
