"""Signing in: logins beside Slack ids, argon2id passwords, lockout, portal sessions, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import func, select

from scheduler import accounts, staff_users
from scheduler.accounts import SignInRefused, WeakPassword
from scheduler.errors import StaffUserError
from scheduler.models import ApiToken, PortalSession, StaffUser

GOOD = "plum-orbit-candle-42"
IDLE = timedelta(minutes=30)


@pytest.fixture
def login(sessions, now):
    with sessions.begin() as db:
        staff_users.add_user(
            db, None, "staff", added_by="test", now=now, username="frontdesk", password=GOOD
        )
    return "frontdesk"


def _user(db, name="frontdesk") -> StaffUser:
    user = staff_users.get_user(db, name)
    assert user is not None
    return user


def test_a_login_is_stored_as_an_argon2id_hash_never_the_password(sessions, login):
    with sessions() as db:
        user = _user(db)
        assert user.password_hash.startswith("$argon2id$")
        assert GOOD not in user.password_hash
        assert user.slack_user_id is None and user.role == "staff"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-one", "at least 12"),
        ("password1234", "common"),
        ("aaaaaaaaaaaaaaaa", "easy to guess"),
        ("frontdesk1234", "easy to guess"),  # the username itself
        ("x" * 300, "at most"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(sessions, now, password, reason):
    with sessions.begin() as db, pytest.raises(WeakPassword, match=reason):
        staff_users.add_user(
            db, None, "staff", added_by="test", now=now, username="frontdesk", password=password
        )
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_one_person_one_role_by_slack_id_login_or_both(sessions, now):
    with sessions.begin() as db:
        staff_users.add_user(
            db, "U0BOTH", "admin", added_by="test", now=now, username="lead", password=GOOD
        )
        with pytest.raises(StaffUserError, match="already"):
            staff_users.add_user(
                db, None, "staff", added_by="test", now=now, username="lead", password=GOOD
            )
        with pytest.raises(StaffUserError, match="Slack id, a username"):
            staff_users.add_user(db, None, "staff", added_by="test", now=now)
        with pytest.raises(StaffUserError, match="needs a password"):
            staff_users.add_user(db, None, "staff", added_by="test", now=now, username="nopass")
    with sessions() as db:
        assert staff_users.role_of(db, "U0BOTH") == "admin"
        assert staff_users.get_user(db, "lead").slack_user_id == "U0BOTH"
        assert accounts.sign_in(db, "lead", GOOD, now).slack_user_id == "U0BOTH"


def test_sign_in_refuses_unknown_names_and_wrong_passwords_alike(sessions, login, now):
    with sessions.begin() as db:
        with pytest.raises(SignInRefused) as unknown:
            accounts.sign_in(db, "nobody", GOOD, now)
        with pytest.raises(SignInRefused) as wrong:
            accounts.sign_in(db, login, GOOD + "x", now)
    assert unknown.value.reason == "unknown" and unknown.value.user is None
    assert wrong.value.reason == "wrong_password" and wrong.value.user is not None


def test_five_failures_in_a_row_lock_the_login_for_fifteen_minutes(sessions, login, now):
    for _ in range(5):
        with sessions.begin() as db, pytest.raises(SignInRefused) as refused:
            accounts.sign_in(db, login, "not-the-password", now)
    assert refused.value.reason == "locked_now"
    for minutes, reason in ((0, "locked"), (14, "locked")):
        with sessions.begin() as db, pytest.raises(SignInRefused) as refused:
            # The right password does not open a locked login.
            accounts.sign_in(db, login, GOOD, now + timedelta(minutes=minutes))
        assert refused.value.reason == reason
    with sessions.begin() as db:
        assert accounts.sign_in(db, login, GOOD, now + timedelta(minutes=16)).username == login


def test_a_success_resets_the_count_of_failures(sessions, login, now):
    for _ in range(4):
        with sessions.begin() as db, pytest.raises(SignInRefused):
            accounts.sign_in(db, login, "not-the-password", now)
    with sessions.begin() as db:
        accounts.sign_in(db, login, GOOD, now)
    for _ in range(4):
        with sessions.begin() as db, pytest.raises(SignInRefused) as refused:
            accounts.sign_in(db, login, "not-the-password", now)
        assert refused.value.reason == "wrong_password"


def test_an_old_hash_is_rehashed_at_the_current_parameters(sessions, login, now):
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    with sessions.begin() as db:
        _user(db).password_hash = weaker.hash(GOOD)
    with sessions.begin() as db:
        accounts.sign_in(db, login, GOOD, now)
    with sessions() as db:
        assert not accounts.HASHER.check_needs_rehash(_user(db).password_hash)


def test_portal_sessions_end_when_idle_or_too_old(sessions, login, now):
    with sessions.begin() as db:
        secret = accounts.start_session(db, _user(db), now)
        assert db.scalar(select(PortalSession.digest)) != secret  # only its digest is kept
    with sessions.begin() as db:
        later = now + timedelta(minutes=29)
        assert accounts.session_user(db, secret, later, idle=IDLE).user.username == login
    with sessions.begin() as db:
        # 29 + 29 minutes: it was seen at 29, so it is still alive.
        assert accounts.session_user(db, secret, now + timedelta(minutes=58), idle=IDLE)
    with sessions.begin() as db:
        assert accounts.session_user(db, secret, now + timedelta(minutes=89), idle=IDLE) is None
        assert db.scalar(select(func.count()).select_from(PortalSession)) == 0

    with sessions.begin() as db:
        secret = accounts.start_session(db, _user(db), now)
    seen = now
    while seen < now + timedelta(hours=11, minutes=50):
        seen += timedelta(minutes=20)
        with sessions.begin() as db:
            assert accounts.session_user(db, secret, seen, idle=IDLE) is not None
    with sessions.begin() as db:
        assert (
            accounts.session_user(db, secret, now + timedelta(hours=12, minutes=1), idle=IDLE)
            is None
        )


def test_sign_in_makes_a_new_session_and_sign_out_ends_it(sessions, login, now):
    with sessions.begin() as db:
        first = accounts.start_session(db, _user(db), now)
        second = accounts.start_session(db, _user(db), now)
        assert first != second
        accounts.end_session(db, first)
    with sessions() as db:
        assert accounts.session_user(db, first, now, idle=IDLE) is None
        assert accounts.session_user(db, second, now, idle=IDLE) is not None


def test_a_new_password_signs_the_user_out_everywhere(sessions, login, now):
    with sessions.begin() as db:
        secret = accounts.start_session(db, _user(db), now)
        staff_users.change_password(db, login, "quiet-harbor-lantern-7", now)
    with sessions.begin() as db:
        assert accounts.session_user(db, secret, now, idle=IDLE) is None
        with pytest.raises(SignInRefused):
            accounts.sign_in(db, login, GOOD, now)
        assert accounts.sign_in(db, login, "quiet-harbor-lantern-7", now)


def test_api_tokens_are_shown_once_kept_as_digests_and_revocable(sessions, login, now):
    with sessions.begin() as db:
        token, secret = accounts.create_token(db, _user(db), "call centre", now)
        token_id = token.id
    assert secret.startswith("mas_") and len(secret) > 40
    with sessions.begin() as db:
        stored = db.get(ApiToken, token_id)
        assert secret not in (stored.digest, stored.hint) and secret.endswith(stored.hint)
        user, _ = accounts.token_user(db, secret, now)
        assert user.username == login
        assert accounts.token_user(db, secret + "x", now) is None
        assert accounts.token_user(db, "Bearer nonsense", now) is None
        accounts.revoke_token(db, token_id, now)
    with sessions() as db:
        assert accounts.token_user(db, secret, now) is None


def test_removing_a_user_removes_their_sessions_and_tokens(sessions, now):
    with sessions.begin() as db:
        staff_users.add_user(db, "U0ADMIN", "admin", added_by="test", now=now)
        staff_users.add_user(
            db, None, "staff", added_by="test", now=now, username="temp", password=GOOD
        )
        user = _user(db, "temp")
        secret = accounts.start_session(db, user, now)
        _, token = accounts.create_token(db, user, "laptop", now)
    with sessions.begin() as db:
        assert staff_users.remove_user(db, "temp") == "staff"
    with sessions() as db:
        assert accounts.session_user(db, secret, now, idle=IDLE) is None
        assert accounts.token_user(db, token, now) is None
        assert db.scalar(select(func.count()).select_from(ApiToken)) == 0
