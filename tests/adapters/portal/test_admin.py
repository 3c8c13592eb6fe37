"""The admin pages: who may see them (admins; staff get 403 and change nothing), CSRF on every
POST, and the users pages (add, role, new password, unlock, remove), audited as admin:<name>."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.accounts import token_user
from tests.adapters.portal.conftest import PASSWORD, add_user, csrf_of, post, sign_in
from tests.adapters.portal.conftest import text as page
from tests.adapters.portal.test_admin_support import OTHER_PASSWORD, events, state, user_row

PAGES = [
    "/portal/admin/",
    "/portal/admin/users",
    "/portal/admin/users/{boss}",
    "/portal/admin/users/{clerk}/remove",
    "/portal/admin/tokens",
    "/portal/admin/audit",
    "/portal/admin/audit?patient=1&kind=sign_in",
    "/portal/admin/reminders",
]
# Every change, with a body that would succeed for an admin.
ACTIONS = [
    ("/portal/admin/users", {"username": "newbie", "role": "staff", "password": PASSWORD}),
    ("/portal/admin/users/{clerk}/role", {"role": "admin"}),
    ("/portal/admin/users/{clerk}/password", {"password": OTHER_PASSWORD}),
    ("/portal/admin/users/{clerk}/unlock", {}),
    ("/portal/admin/users/{clerk}/remove", {}),
    ("/portal/admin/tokens", {"user": "{clerk}", "label": "EHR bridge"}),
    ("/portal/admin/tokens/{token}/revoke", {}),
    ("/portal/admin/audit/verify", {}),
]


def _fill(text: str, people, token: int = 0) -> str:
    return text.format(boss=people.boss, clerk=people.clerk, token=token)


def _a_token(services, people) -> int:
    from scheduler.accounts import create_token
    from scheduler.models import StaffUser

    with services.sessions.begin() as db:
        row, _ = create_token(db, db.get(StaffUser, people.clerk), "tests", services.clock())
        return row.id


def test_every_admin_page_opens_for_an_admin(people):
    for path in PAGES:
        answer = people.admin.get(_fill(path, people))
        assert answer.status_code == 200, path
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert ' style="' not in page(answer) and "<script>" not in page(answer)
    home = page(people.admin.get("/portal/admin/"))
    for label in ("Users", "API tokens", "Audit trail", "Failed reminders"):
        assert label in home


def test_staff_get_403_on_every_page_and_change_nothing(people, services):
    token = _a_token(services, people)
    for path in PAGES:
        assert people.staff.get(_fill(path, people)).status_code == 403, path
    before = state(services)
    for path, body in ACTIONS:
        data = {key: _fill(value, people) for key, value in body.items()}
        answer = post(people.staff, _fill(path, people, token), data)
        assert answer.status_code == 403, path
        assert "for admins" in page(answer)
    assert state(services) == before
    assert not events(services, "audit_verified")


def test_anonymous_visitors_are_sent_to_sign_in(app, people):
    anonymous = app.test_client()
    answer = anonymous.get("/portal/admin/users")
    assert answer.status_code in (302, 303)
    assert answer.headers["Location"].startswith("/login")
    assert anonymous.post("/portal/admin/users/1/remove").status_code in (302, 303, 400)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_a_post_without_this_sessions_csrf_token_is_refused(people, services, token):
    before = state(services)
    for path, body in ACTIONS:
        data = {key: _fill(value, people) for key, value in body.items()}
        if token:
            data["csrf_token"] = token
        answer = people.admin.post(_fill(path, people, _a_token(services, people)), data=data)
        assert answer.status_code == 400, path
        assert "nothing was changed" in page(answer)
    after = state(services)
    assert after[0] == before[0] and after[2] == before[2]  # users and changes as they were
    assert all(revoked is None for _, revoked in after[1])


def test_the_users_list_shows_logins_roles_and_locks(people, services, clock):
    with services.sessions.begin() as db:
        from scheduler.models import StaffUser

        db.get(StaffUser, people.clerk).locked_until = clock() + timedelta(minutes=15)
    listing = page(people.admin.get("/portal/admin/users"))
    assert "boss" in listing and "clerk" in listing
    assert "admin" in listing and "staff" in listing
    assert "Mar 4" in listing  # the lock's end and the passwords' dates, in the clinic's zone


def test_an_admin_adds_a_user_and_it_is_audited(people, services):
    answer = post(
        people.admin,
        "/portal/admin/users",
        {"username": "Newbie", "slack_id": "U0NEWBIE1", "role": "staff", "password": PASSWORD},
    )
    assert answer.status_code == 303
    listing = page(people.admin.get(answer.headers["Location"]))
    assert "newbie added as staff" in listing and "U0NEWBIE1" in listing
    added = user_row(services, "newbie")
    assert added.role == "staff" and added.slack_user_id == "U0NEWBIE1"
    sign_in(people.admin.application.test_client(), "newbie")
    (event,) = events(services, "staff_user_added")
    assert (event.actor, event.channel) == ("admin:boss", "portal")
    assert event.detail == {"username": "newbie", "slack_user_id": "U0NEWBIE1", "role": "staff"}
    assert PASSWORD not in str(event.detail)


def test_a_slack_only_user_needs_no_password(people, services):
    answer = post(people.admin, "/portal/admin/users", {"slack_id": "u0slack22", "role": "admin"})
    assert answer.status_code == 303
    assert any(u.slack_user_id == "U0SLACK22" for u in _all_users(services))


def _all_users(services):
    from scheduler.staff_users import list_users

    with services.sessions() as db:
        return list_users(db)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12 characters"),
        ("password1234", "one of the most common passwords"),
        ("aaaaaaaaaaaaaaaa", "easy to guess"),
        ("newbienewbie1", "easy to guess"),
    ],
)
def test_a_weak_password_is_refused_with_the_reason(people, services, password, reason):
    before = state(services)
    answer = post(
        people.admin,
        "/portal/admin/users",
        {"username": "newbie", "role": "staff", "password": password},
    )
    assert answer.status_code == 422
    assert reason in page(answer)
    assert password not in page(answer)  # the typed password is not sent back
    assert user_row(services, "newbie") is None and state(services) == before


def test_adding_needs_a_name_and_refuses_a_taken_one(people, services):
    answer = post(people.admin, "/portal/admin/users", {"role": "staff"})
    assert answer.status_code == 422 and "needs a Slack id, a username, or both" in page(answer)
    answer = post(
        people.admin,
        "/portal/admin/users",
        {"username": "clerk", "role": "staff", "password": PASSWORD},
    )
    assert answer.status_code == 422 and "already on the staff list" in page(answer)
    answer = post(people.admin, "/portal/admin/users", {"username": "x y", "role": "boss"})
    assert answer.status_code == 422


def test_an_admin_changes_a_role(people, services):
    answer = post(people.admin, f"/portal/admin/users/{people.clerk}/role", {"role": "admin"})
    assert answer.status_code == 303
    assert "clerk is now admin" in page(people.admin.get(answer.headers["Location"]))
    assert user_row(services, "clerk").role == "admin"
    (event,) = events(services, "staff_user_role_changed")
    assert event.actor == "admin:boss"
    assert event.detail == {"username": "clerk", "old_role": "staff", "role": "admin"}
    assert people.staff.get("/portal/admin/").status_code == 200  # the role counts at once


def test_the_last_admin_cannot_be_demoted_or_remove_themself(people, services):
    before = state(services)
    answer = post(people.admin, f"/portal/admin/users/{people.boss}/role", {"role": "staff"})
    assert answer.status_code == 409
    assert "that is the last admin; make another admin first" in page(answer).lower()
    confirm = people.admin.get(f"/portal/admin/users/{people.boss}/remove")
    assert confirm.status_code == 409 and "cannot remove yourself" in page(confirm)
    answer = post(people.admin, f"/portal/admin/users/{people.boss}/remove")
    assert answer.status_code == 409 and "cannot remove yourself" in page(answer)
    assert user_row(services, "boss").role == "admin" and state(services) == before


def test_the_last_admin_is_protected_when_another_admin_acts(people, services, app):
    # Two admins: one is demoted, then the other (now the last) cannot be.
    second = add_user(services, "deputy", "admin")
    deputy = app.test_client()
    sign_in(deputy, "deputy")
    assert (
        post(people.admin, f"/portal/admin/users/{second}/role", {"role": "staff"}).status_code
        == 303
    )
    answer = post(people.admin, f"/portal/admin/users/{people.boss}/role", {"role": "staff"})
    assert answer.status_code == 409 and "last admin" in page(answer)


def test_a_new_password_signs_the_user_out_everywhere(people, services, app):
    assert people.staff.get("/portal/").status_code == 200
    answer = post(
        people.admin, f"/portal/admin/users/{people.clerk}/password", {"password": OTHER_PASSWORD}
    )
    assert answer.status_code == 303
    assert "signed out everywhere" in page(people.admin.get(answer.headers["Location"]))
    assert people.staff.get("/portal/").status_code == 303  # their session ended
    sign_in(app.test_client(), "clerk", OTHER_PASSWORD)
    (event,) = events(services, "staff_user_password_reset")
    assert event.actor == "admin:boss" and event.detail == {"username": "clerk"}
    assert OTHER_PASSWORD not in str(event.detail)


def test_a_weak_new_password_is_refused_with_the_reason(people, services):
    before = state(services)
    answer = post(
        people.admin, f"/portal/admin/users/{people.clerk}/password", {"password": "password1234"}
    )
    assert answer.status_code == 422 and "one of the most common passwords" in page(answer)
    assert state(services) == before
    assert people.staff.get("/portal/").status_code == 200  # still signed in


def test_an_admin_unlocks_a_locked_login(people, services, app, clock):
    locked_out = app.test_client()
    for _ in range(5):
        token = csrf_of(locked_out.get("/login"))
        locked_out.post(
            "/login", data={"username": "clerk", "password": "wrong", "csrf_token": token}
        )
    assert user_row(services, "clerk").locked_until is not None
    assert "locked until" in page(people.admin.get(f"/portal/admin/users/{people.clerk}"))
    answer = post(people.admin, f"/portal/admin/users/{people.clerk}/unlock")
    assert answer.status_code == 303
    row = user_row(services, "clerk")
    assert row.locked_until is None and row.failed_sign_ins == 0
    sign_in(locked_out, "clerk")
    (event,) = events(services, "staff_user_unlocked")
    assert event.actor == "admin:boss"


def test_removing_asks_first_then_removes_with_their_tokens(people, services, app):
    token_id = _a_token(services, people)
    confirm = people.admin.get(f"/portal/admin/users/{people.clerk}/remove")
    assert confirm.status_code == 200
    assert "Remove clerk?" in page(confirm) and "Yes, remove clerk" in page(confirm)
    assert user_row(services, "clerk") is not None  # asking removes nothing
    answer = post(people.admin, f"/portal/admin/users/{people.clerk}/remove")
    assert answer.status_code == 303
    assert "clerk was removed" in page(people.admin.get(answer.headers["Location"]))
    assert user_row(services, "clerk") is None
    assert people.staff.get("/portal/").status_code == 303
    with services.sessions() as db:
        from scheduler.models import ApiToken

        assert db.get(ApiToken, token_id) is None
        assert token_user(db, "mas_unknown", services.clock()) is None
    (event,) = events(services, "staff_user_removed")
    assert event.actor == "admin:boss" and event.detail == {"username": "clerk", "role": "staff"}


def test_an_unknown_user_is_404(people):
    assert people.admin.get("/portal/admin/users/99999").status_code == 404
    assert post(people.admin, "/portal/admin/users/99999/unlock").status_code == 404
