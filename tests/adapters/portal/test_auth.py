"""Signing in to the portal: the form, the one sentence for every failure, the audit trail,
the lockout and the per-address limit (with the test clock), idle and absolute session ends,
a new session id at every sign-in, CSRF, the cookie's flags, and no open redirect."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from adapters.portal.auth import ADDRESS_LIMIT, REFUSED
from scheduler.models import AuditEvent, StaffUser
from tests.adapters.portal.conftest import (
    PASSWORD,
    csrf_of,
    events,
    make_app,
    portal_sessions,
    post,
    sign_in,
    text,
    try_sign_in,
)


def test_the_sign_in_page_has_the_form_and_its_token(app):
    response = app.test_client().get("/login")
    page = text(response)
    assert response.status_code == 200
    for field in ('name="username"', 'name="password"', 'name="csrf_token"'):
        assert field in page
    assert 'type="password"' in page and 'autocomplete="current-password"' in page


def test_anonymous_visitors_of_the_portal_are_sent_to_sign_in(app):
    response = app.test_client().get("/portal/")
    assert response.status_code in (302, 303)
    assert response.headers["Location"].startswith("/login?next=/portal/")


def test_signing_in_opens_the_day_and_is_audited(app, services, clerk):
    client = app.test_client()
    answer = sign_in(client)
    assert answer.headers["Location"] == "/portal/"
    day = client.get("/portal/")
    assert day.status_code == 200 and "Signed in as <strong>clerk</strong>" in text(day)
    (event,) = events(services, "sign_in")
    assert event.actor == "staff:clerk" and event.channel == "portal"


def test_signing_out_ends_the_session_and_is_audited(app, services, clerk):
    client = app.test_client()
    sign_in(client)
    answer = post(client, "/logout")
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert portal_sessions(services) == []
    assert client.get("/portal/").status_code == 303
    (event,) = events(services, "sign_out")
    assert event.actor == "staff:clerk"


def test_logout_is_a_post_only(app, clerk):
    client = app.test_client()
    sign_in(client)
    assert client.get("/logout").status_code == 405
    assert client.get("/portal/").status_code == 200


def test_a_wrong_password_is_a_401_with_one_sentence_and_audited(app, services, clerk):
    answer = try_sign_in(app.test_client(), "clerk", "not-the-password-at-all")
    assert answer.status_code == 401
    assert REFUSED in text(answer)
    (event,) = events(services, "sign_in_failed")
    assert event.actor == "staff:clerk" and event.channel == "portal"
    assert event.detail["username_known"] is True and event.detail["reason"] == "wrong_password"
    assert "not-the-password-at-all" not in str(event.detail)
    with services.sessions() as db:
        assert db.scalar(select(StaffUser.failed_sign_ins).where(StaffUser.id == clerk)) == 1


def test_an_unknown_name_is_the_same_401_and_its_name_is_never_recorded(app, services, clerk):
    known = try_sign_in(app.test_client(), "clerk", "not-the-password-at-all")
    unknown = try_sign_in(app.test_client(), "mallory-guess", PASSWORD)
    assert unknown.status_code == 401
    assert REFUSED in text(unknown)
    strip = lambda page: page.replace("mallory-guess", "").replace("clerk", "")  # noqa: E731
    assert strip(text(unknown).split("<form")[0]) == strip(text(known).split("<form")[0])
    event = events(services, "sign_in_failed")[-1]
    assert event.actor is None and event.detail["username_known"] is False
    assert "mallory" not in str(event.detail) and PASSWORD not in str(event.detail)


def test_an_empty_form_is_a_401_not_an_error(app, clerk):
    client = app.test_client()
    token = csrf_of(client.get("/login"))
    answer = client.post("/login", data={"csrf_token": token})
    assert answer.status_code == 401 and REFUSED in text(answer)


def test_five_failures_lock_the_login_for_15_minutes(app, services, clock, clerk):
    client = app.test_client()
    for _ in range(5):
        assert try_sign_in(client, "clerk", "wrong-password-again").status_code == 401
    (locked,) = events(services, "sign_in_locked")
    assert locked.actor == "staff:clerk"
    # Locked at minute 0: the right password is refused with the same sentence.
    answer = try_sign_in(client, "clerk", PASSWORD)
    assert answer.status_code == 401 and REFUSED in text(answer)
    clock.advance(minutes=14)
    assert try_sign_in(client, "clerk", PASSWORD).status_code == 401
    assert events(services, "sign_in_failed")[-1].detail["reason"] == "locked"
    clock.advance(minutes=2)  # minute 16
    assert try_sign_in(client, "clerk", PASSWORD).status_code == 303
    assert events(services, "sign_in")[-1].actor == "staff:clerk"


def test_a_success_resets_the_count_of_failures(app, services, clerk):
    client = app.test_client()
    for _ in range(4):
        try_sign_in(client, "clerk", "wrong-password-again")
    sign_in(client)
    with services.sessions() as db:
        assert db.scalar(select(StaffUser.failed_sign_ins).where(StaffUser.id == clerk)) == 0


def _failures(services) -> int:
    with services.sessions() as db:
        return db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.kind.in_(("sign_in_failed", "sign_in_locked")))
        )


def test_more_than_20_failures_from_one_address_get_429_without_a_check(app, services, clock):
    client = app.test_client()
    for n in range(ADDRESS_LIMIT):
        assert try_sign_in(client, f"nobody{n}", "some-password-here").status_code == 401
    assert _failures(services) == ADDRESS_LIMIT
    answer = try_sign_in(client, "nobody", "some-password-here")
    assert answer.status_code == 429
    assert "Too many" in text(answer) and answer.headers["Retry-After"] == "900"
    assert _failures(services) == ADDRESS_LIMIT  # not checked, so not a failure
    # Another address is not limited by this one's failures.
    other = app.test_client()
    token = csrf_of(other.get("/login"))
    elsewhere = other.post(
        "/login",
        data={"username": "nobody", "password": "x" * 12, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert elsewhere.status_code == 401
    clock.advance(minutes=15, seconds=1)
    assert try_sign_in(client, "nobody", "some-password-here").status_code == 401


def test_the_address_limit_holds_for_a_known_user_with_the_right_password(app, services, clerk):
    client = app.test_client()
    for n in range(ADDRESS_LIMIT):
        try_sign_in(client, f"nobody{n}", "some-password-here")
    assert try_sign_in(client, "clerk", PASSWORD).status_code == 429
    assert events(services, "sign_in") == []


def test_an_idle_session_ends_after_the_timeout(app, clock, clerk):
    client = app.test_client()
    sign_in(client)
    clock.advance(minutes=31)
    response = client.get("/portal/")
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
    clock.advance(minutes=1)
    assert client.get("/portal/").status_code == 303  # and it stays ended


def test_a_session_in_use_stays_open(app, clock, clerk):
    client = app.test_client()
    sign_in(client)
    clock.advance(minutes=15)
    assert client.get("/portal/").status_code == 200
    clock.advance(minutes=29)  # 29 minutes after the last request, 44 after signing in
    assert client.get("/portal/").status_code == 200


def test_the_idle_timeout_is_the_setting(tmp_path, sqlite_url, clock):
    from datetime import timedelta

    from bot.services import services_of
    from tests.adapters.portal.conftest import add_user

    app = make_app(tmp_path, sqlite_url, clock, session_timeout=timedelta(minutes=5))
    try:
        add_user(services_of(app), "clerk", "staff")
        client = app.test_client()
        sign_in(client)
        clock.advance(minutes=4)
        assert client.get("/portal/").status_code == 200
        clock.advance(minutes=6)
        assert client.get("/portal/").status_code == 303
    finally:
        services_of(app).engine.dispose()


def test_a_session_ends_after_12_hours_however_busy(app, clock, clerk):
    client = app.test_client()
    sign_in(client)
    for _ in range(47):  # a request every 15 minutes: 11 h 45 min
        clock.advance(minutes=15)
        assert client.get("/portal/").status_code == 200
    clock.advance(minutes=16)
    assert client.get("/portal/").status_code == 303


def test_signing_in_makes_a_new_session_id_and_the_old_cookie_dies(app, services, clerk):
    client = app.test_client()
    sign_in(client)
    first = portal_sessions(services)
    old_cookie = client.get_cookie("session").value
    # Again on the same browser (the sign-in page itself sends a signed-in user on).
    again = client.post(
        "/login",
        data={
            "username": "clerk",
            "password": PASSWORD,
            "csrf_token": csrf_of(client.get("/portal/")),
        },
    )
    assert again.status_code == 303
    second = portal_sessions(services)
    assert len(first) == len(second) == 1 and first != second
    post(client, "/logout")
    assert portal_sessions(services) == []
    thief = app.test_client()
    thief.set_cookie("session", old_cookie)
    assert thief.get("/portal/").status_code == 303


def test_the_cookie_is_httponly_and_samesite_lax_and_not_secure_over_http(app, clerk):
    answer = sign_in(app.test_client())
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert len(answer.headers.getlist("Set-Cookie")) == 1


def test_the_cookie_is_secure_when_the_public_url_is_https(tmp_path, sqlite_url, clock):
    from bot.services import services_of
    from tests.adapters.portal.conftest import add_user

    app = make_app(tmp_path, sqlite_url, clock, public_base_url="https://clinic.example")
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        add_user(services_of(app), "clerk", "staff")
        client = app.test_client()
        page = client.get("/login", base_url="https://clinic.example")
        answer = client.post(
            "/login",
            base_url="https://clinic.example",
            headers={"Referer": "https://clinic.example/login"},
            data={"username": "clerk", "password": PASSWORD, "csrf_token": csrf_of(page)},
        )
        assert answer.status_code == 303
        assert "Secure" in answer.headers["Set-Cookie"]
    finally:
        services_of(app).engine.dispose()


def test_a_sign_in_without_or_with_a_forged_csrf_token_is_400_and_not_tried(app, services, clerk):
    client = app.test_client()
    client.get("/login")
    missing = client.post("/login", data={"username": "clerk", "password": PASSWORD})
    forged = client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": "forged.token"}
    )
    for answer in (missing, forged):
        assert answer.status_code == 400
        assert "security token" in text(answer)
    assert events(services, "sign_in") == [] and portal_sessions(services) == []


def test_a_token_from_another_session_is_refused(app, clerk):
    other = app.test_client()
    stolen = csrf_of(other.get("/login"))
    client = app.test_client()
    client.get("/login")
    answer = client.post(
        "/login", data={"username": "clerk", "password": PASSWORD, "csrf_token": stolen}
    )
    assert answer.status_code == 400


def test_sign_out_without_a_token_is_400_and_stays_signed_in(app, services, clerk):
    client = app.test_client()
    sign_in(client)
    assert client.post("/logout").status_code == 400
    assert client.get("/portal/").status_code == 200
    assert len(portal_sessions(services)) == 1


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/portal/",
        "//evil.example/portal/",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/portal/",
        "/portal/\r\nLocation: https://evil.example",
        "/login",
        "/healthz",
        "/portalevil",
        "/portal",
        "",
    ],
)
def test_next_never_leaves_the_portal(app, clerk, target):
    answer = try_sign_in(app.test_client(), "clerk", PASSWORD, next_=target)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/portal/"


def test_next_inside_the_portal_is_followed(app, clerk):
    client = app.test_client()
    first = client.get("/portal/week?by=room")
    assert first.status_code == 303
    login_page = client.get(first.headers["Location"])
    assert 'value="/portal/week?by=room"' in text(login_page)
    answer = client.post(
        "/login",
        data={
            "username": "clerk",
            "password": PASSWORD,
            "csrf_token": csrf_of(login_page),
            "next": "/portal/week?by=room",
        },
    )
    assert answer.headers["Location"] == "/portal/week?by=room"


def test_the_sign_in_page_of_a_signed_in_user_goes_to_the_portal(app, clerk):
    client = app.test_client()
    sign_in(client)
    assert client.get("/login").headers["Location"] == "/portal/"


def test_a_removed_user_is_signed_out(app, services, clerk, boss):
    from scheduler import staff_users

    client = app.test_client()
    sign_in(client)
    with services.sessions.begin() as db:
        staff_users.remove_user(db, "clerk")
    assert client.get("/portal/").status_code == 303


@pytest.mark.parametrize("target", ["/portal/patients/1", "/portal/?date=2026-03-09&by=room"])
def test_any_path_inside_the_portal_is_a_fine_next(app, clerk, target):
    answer = try_sign_in(app.test_client(), "clerk", PASSWORD, next_=target)
    assert answer.headers["Location"] == target
