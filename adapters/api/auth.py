"""Who is calling: `Authorization: Bearer <token>`, a token of scheduler/accounts.py.

A missing, malformed, unknown or revoked token is a 401 with `WWW-Authenticate: Bearer`; a known
user whose role may not make the call is a 403. The user's role is the caller's role for the
scheduling tools, and their name the audit trail's actor ("staff:frontdesk").
"""

from __future__ import annotations

from datetime import datetime

from flask import request
from sqlalchemy.orm import Session

from bot.messages import is_role
from bot.tools import Caller
from scheduler.accounts import token_user
from scheduler.models import StaffUser

from .problems import ApiProblem, unauthorized

CHANNEL = "api"
STAFF = frozenset({"staff", "admin"})  # who may make every call of INTERFACE.md


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(db: Session, now: datetime, roles: frozenset[str] = STAFF) -> StaffUser:
    """The user whose live token this request carries, if their role is one of `roles`."""
    token = bearer_token()
    if token is None:
        raise unauthorized("this call needs Authorization: Bearer <token>", wrong=False)
    found = token_user(db, token, now)
    if found is None:
        raise unauthorized("the token is not valid (unknown or revoked)", wrong=True)
    user, _ = found
    if user.role not in roles:
        raise ApiProblem(403, "your role may not make this call", kind="forbidden")
    return user


def caller_of(user: StaffUser) -> Caller:
    role = user.role
    if not is_role(role) or role == "patient":
        raise ApiProblem(403, "your role may not make this call", kind="forbidden")
    return Caller(role=role, channel=CHANNEL, staff_id=user.name)
