"""Who may use the staff tools: clinic staff and admins, reached by Slack id, login, or both.

One person, one role. The table is the only source of a role: a Slack request is authorized by
looking its user id up here, a portal or API request by its session or token's user
(scheduler/accounts.py), never by anything the request says about itself. The first admin is made
from the shell (`flask --app app users add --username NAME --role admin --password-stdin`, or
`--slack-id U...`); after that admins manage the list in Slack (`/appt-admin users ...`) or the
portal. A user is named by their Slack id ("U012ABCDEF") or their username ("frontdesk"): Slack ids
are upper case, usernames lower case, so the two never collide. The last admin can be neither
removed nor demoted, so the clinic cannot lock itself out by accident.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .accounts import check_username, end_all_sessions, set_password
from .errors import StaffUserError
from .models import StaffUser

ROLES = ("staff", "admin")
# Slack user ids: "U" (or "W" on Enterprise Grid) and upper-case letters and digits.
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


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


def _named(who: str) -> ColumnElement[bool]:
    if valid_slack_user_id(who):
        return StaffUser.slack_user_id == who
    return StaffUser.username == who.strip().lower()


def get_user(session: Session, who: str) -> StaffUser | None:
    """The user with this Slack id or username."""
    return session.scalar(select(StaffUser).where(_named(who)))


def add_user(
    session: Session,
    slack_user_id: str | None,
    role: str,
    *,
    added_by: str,
    now: datetime,
    username: str | None = None,
    password: str | None = None,
) -> StaffUser:
    """Put someone on the list, reachable by a Slack id, a login (username and password) or
    both; StaffUserError when either is taken, or the password is weak."""
    if slack_user_id is None and username is None:
        raise StaffUserError("a staff user needs a Slack id, a username, or both")
    if role not in ROLES:
        raise StaffUserError(f"the role must be staff or admin, not {role!r}")
    if slack_user_id is not None:
        _check(slack_user_id)
    if username is not None:
        username = check_username(username.strip().lower())
        if password is None:
            raise StaffUserError("a login needs a password")
    for who in (slack_user_id, username):
        if who is not None and get_user(session, who) is not None:
            raise StaffUserError(f"{who} is already on the staff list (change their role instead)")
    user = StaffUser(
        slack_user_id=slack_user_id, username=username, role=role, added_at=now, added_by=added_by
    )
    if password is not None:
        if username is None:
            raise StaffUserError("a password needs a username to sign in with")
        set_password(user, password, now)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:  # added by someone else a moment ago
        raise StaffUserError(f"{username or slack_user_id} is already on the staff list") from None
    return user


def change_password(session: Session, who: str, password: str, now: datetime) -> StaffUser:
    """A new password for a login; signs them out everywhere (their portal sessions end)."""
    user = _existing(session, who)
    if user.username is None:
        raise StaffUserError(f"{who} has no login (add one with a username)")
    set_password(user, password, now)
    end_all_sessions(session, user)
    session.flush()
    return user


def _admins(session: Session) -> int:
    return (
        session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.role == "admin"))
        or 0
    )


def _existing(session: Session, who: str) -> StaffUser:
    user = session.scalar(select(StaffUser).where(_named(who)).with_for_update())
    if user is None:
        raise StaffUserError(f"{who} is not on the staff list")
    return user


def remove_user(session: Session, who: str) -> str:
    """Take someone off the list (their sessions and tokens go with them); returns the role they
    had."""
    user = _existing(session, who)
    if user.role == "admin" and _admins(session) <= 1:
        raise StaffUserError("that is the last admin; make another admin first")
    role = user.role
    session.delete(user)
    session.flush()
    return role


def set_role(session: Session, who: str, role: str) -> str:
    """Change a listed user's role; returns the role they had."""
    if role not in ROLES:
        raise StaffUserError(f"the role must be staff or admin, not {role!r}")
    user = _existing(session, who)
    old = user.role
    if old == "admin" and role != "admin" and _admins(session) <= 1:
        raise StaffUserError("that is the last admin; make another admin first")
    user.role = role
    session.flush()
    return old
