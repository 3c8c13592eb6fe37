"""Staff and admins bound to Slack user ids: the only source of a role."""

from __future__ import annotations

import pytest

from scheduler import staff_users
from scheduler.staff_users import StaffUserError


def test_roles_are_looked_up_by_slack_user_id(sessions, now):
    with sessions.begin() as db:
        staff_users.add_user(db, "U0ADMIN", "admin", added_by="operator:cli", now=now)
        staff_users.add_user(db, "U0STAFF", "staff", added_by="admin:U0ADMIN", now=now)
    with sessions() as db:
        assert staff_users.role_of(db, "U0ADMIN") == "admin"
        assert staff_users.role_of(db, "U0STAFF") == "staff"
        assert staff_users.role_of(db, "U0NOBODY") is None
        assert staff_users.role_of(db, "not an id; drop table") is None
        assert [u.slack_user_id for u in staff_users.list_users(db)] == ["U0ADMIN", "U0STAFF"]


def test_changes_keep_at_least_one_admin(sessions, now):
    with sessions.begin() as db:
        staff_users.add_user(db, "U0ADMIN", "admin", added_by="test", now=now)
        staff_users.add_user(db, "U0STAFF", "staff", added_by="test", now=now)
    with sessions.begin() as db, pytest.raises(StaffUserError, match="last admin"):
        staff_users.remove_user(db, "U0ADMIN")
    with sessions.begin() as db, pytest.raises(StaffUserError, match="last admin"):
        staff_users.set_role(db, "U0ADMIN", "staff")
    with sessions.begin() as db:
        assert staff_users.set_role(db, "U0STAFF", "admin") == "staff"
        assert staff_users.remove_user(db, "U0ADMIN") == "admin"
    with sessions() as db:
        assert [(u.slack_user_id, u.role) for u in staff_users.list_users(db)] == [
            ("U0STAFF", "admin")
        ]


@pytest.mark.parametrize(
    "user, role, message",
    [
        ("u0lower", "staff", "not a Slack user id"),
        ("U0X", "owner", "staff or admin"),
        ("", "staff", "not a Slack user id"),
    ],
)
def test_bad_ids_and_roles_are_refused(sessions, now, user, role, message):
    with sessions.begin() as db, pytest.raises(StaffUserError, match=message):
        staff_users.add_user(db, user, role, added_by="test", now=now)


def test_adding_twice_or_removing_a_stranger_is_refused(sessions, now):
    with sessions.begin() as db:
        staff_users.add_user(db, "U0STAFF", "staff", added_by="test", now=now)
    with sessions.begin() as db, pytest.raises(StaffUserError, match="already"):
        staff_users.add_user(db, "U0STAFF", "admin", added_by="test", now=now)
    with sessions.begin() as db, pytest.raises(StaffUserError, match="not on the staff list"):
        staff_users.remove_user(db, "U0NOBODY")
