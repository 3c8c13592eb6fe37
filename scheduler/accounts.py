"""Signing in: staff passwords, portal sessions and API tokens.

One person, one role (scheduler/staff_users.py): a staff user is reached by a Slack id, by a
login (username and password) or both. Passwords are hashed with argon2id (argon2-cffi) at
`HASHER`'s parameters, rehashed at sign-in when those change, at least 12 characters, never one of
the common passwords zxcvbn knows, and never easy to guess (a zxcvbn score under 3). Five failed
sign-ins in a row lock the login for 15 minutes.

A portal session and an API token are random secrets the server keeps only as SHA-256 digests
(they carry 256 bits, so a fast hash is the right one; a password needs the slow one). A portal
session ends after `idle` without a request and after 12 hours in all; signing in always makes a
new one. Removing a user ends their sessions and their tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from .errors import StaffUserError
from .models import ApiToken, PortalSession, StaffUser

# argon2id above OWASP's floor (19 MiB, 2 passes, 1 lane): one more pass, so that one sign-in
# costs about 50 ms on the 2-core machine of BENCHMARKS.md ("Signing in").
HASHER = PasswordHasher(time_cost=3, memory_cost=19_456, parallelism=1, type=Type.ID)
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a huge body from costing more
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "mas_"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
_COMMON = frozenset(FREQUENCY_LISTS["passwords"])
# What a refused sign-in for an unknown name is checked against, so that it costs what a known
# name's does and the answer's time does not tell which names exist.
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))


class WeakPassword(StaffUserError):
    """A password the policy refuses; the message says why, for the person choosing it."""


class SignInRefused(Exception):
    """A sign-in that did not succeed. `reason`: "unknown", "wrong_password", "locked";
    `user` when the name is known (for the audit trail). Callers show one sentence for all."""

    def __init__(self, reason: str, user: StaffUser | None = None):
        super().__init__(reason)
        self.reason, self.user = reason, user


def valid_username(value: str) -> bool:
    return bool(_USERNAME.match(value or ""))


def check_username(value: str) -> str:
    if not valid_username(value):
        raise StaffUserError(
            "a username is 2 to 63 lower-case letters, digits, dots, dashes or underscores"
        )
    return value


def check_password(password: str, username: str | None = None) -> None:
    """WeakPassword unless `password` is long enough, not common and not easy to guess."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"a password may have at most {MAX_PASSWORD} characters")
    if password.lower() in _COMMON:
        raise WeakPassword("that is one of the most common passwords; choose another")
    if zxcvbn(password, user_inputs=[username] if username else [])["score"] < 3:
        raise WeakPassword(
            "that password is easy to guess; a few unrelated words together make a strong one"
        )


def set_password(user: StaffUser, password: str, now: datetime) -> None:
    check_password(password, user.username)
    user.password_hash = HASHER.hash(password)
    user.password_changed_at = now
    unlock(user)


def unlock(user: StaffUser) -> None:
    """Open a locked login at once (an admin's decision); the count of failures starts over."""
    user.failed_sign_ins = 0
    user.locked_until = None


def by_username(session: Session, username: str) -> StaffUser | None:
    if not valid_username(username):
        return None
    return session.scalar(select(StaffUser).where(StaffUser.username == username))


def locked(user: StaffUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def sign_in(session: Session, username: str, password: str, now: datetime) -> StaffUser:
    """The user whose password this is; SignInRefused otherwise. Counts failures in a row and
    locks the login for `LOCK_FOR` at the `LOCK_AFTER`th; a success resets the count."""
    user = by_username(session, username.strip().lower()) if username else None
    if user is None or user.password_hash is None:
        _verify(_DUMMY_HASH, password)
        raise SignInRefused("unknown", user)
    if locked(user, now):
        raise SignInRefused("locked", user)
    if not _verify(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= LOCK_AFTER:
            user.failed_sign_ins = 0
            user.locked_until = now + LOCK_FOR
            session.flush()
            raise SignInRefused("locked_now", user)
        session.flush()
        raise SignInRefused("wrong_password", user)
    unlock(user)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- portal sessions ---------------------------------------------------------------------------


def start_session(session: Session, user: StaffUser, now: datetime) -> str:
    """A new portal session for `user`; returns its secret (the cookie's value, never stored)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        PortalSession(digest=_digest(secret), user_id=user.id, started_at=now, last_seen_at=now)
    )
    session.flush()
    return secret


@dataclass(frozen=True)
class SignedIn:
    user: StaffUser
    session_id: int


def session_user(
    session: Session, secret: str | None, now: datetime, *, idle: timedelta
) -> SignedIn | None:
    """Who holds this portal session, or None when it is unknown, idle too long or too old
    (an expired one is deleted). A live one is marked seen now."""
    if not secret:
        return None
    row = session.scalar(select(PortalSession).where(PortalSession.digest == _digest(secret)))
    if row is None:
        return None
    if now - row.last_seen_at > idle or now - row.started_at > SESSION_LIFETIME:
        session.delete(row)
        session.flush()
        return None
    row.last_seen_at = now
    user = session.get(StaffUser, row.user_id)
    if user is None or user.password_hash is None:
        return None
    return SignedIn(user, row.id)


def end_session(session: Session, secret: str | None) -> None:
    if secret:
        session.execute(delete(PortalSession).where(PortalSession.digest == _digest(secret)))


def end_all_sessions(session: Session, user: StaffUser) -> None:
    """Sign `user` out everywhere (a new password, a removed login)."""
    session.execute(delete(PortalSession).where(PortalSession.user_id == user.id))


# --- API tokens --------------------------------------------------------------------------------


def create_token(
    session: Session, user: StaffUser, label: str, now: datetime
) -> tuple[ApiToken, str]:
    """A new bearer token for `user`; returns the row and the token, shown once, never stored."""
    label = (label or "").strip()
    if not 1 <= len(label) <= 100:
        raise StaffUserError("a token needs a name of 1 to 100 characters (what uses it)")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, label=label, digest=_digest(secret), hint=secret[-4:], created_at=now
    )
    session.add(token)
    session.flush()
    return token, secret


def token_user(session: Session, secret: str, now: datetime) -> tuple[StaffUser, ApiToken] | None:
    """The user a live bearer token belongs to (and the token), or None: unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    row = session.execute(
        select(StaffUser, ApiToken)
        .join(ApiToken, ApiToken.user_id == StaffUser.id)
        .where(ApiToken.digest == _digest(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    user, token = row
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        # Written at most once a minute: a busy client must not turn every read into a write.
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return user, token


def list_tokens(session: Session, user: StaffUser | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise StaffUserError(f"there is no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token
