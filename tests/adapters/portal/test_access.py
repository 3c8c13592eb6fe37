"""Who may open what: every route of the portal (taken from the app's own URL map, so a new
page is covered the day it is added), for an anonymous visitor, a staff user and an admin.

- anonymous: every page and every form (with a valid CSRF token) is a 303 to the sign-in page;
- staff: every schedule page opens (or is a 404 for an unknown id), every admin page is a 403;
- admin: everything opens.
Nobody gets a 500. Forms are sent with ids nobody has, so the matrix changes nothing.
"""

from __future__ import annotations

from datetime import time

import pytest

from tests.adapters.portal.conftest import add_patient, book, csrf_of, text

UNKNOWN = 987654


def portal_routes(app, method: str) -> list[tuple[str, str]]:
    """(endpoint, path) of every portal route answering `method`, ids filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint not in ("portal", "portal_admin") or rule.endpoint.endswith(".static"):
            continue
        if method not in rule.methods:
            continue
        values = {}
        for name in rule.arguments:
            values[name] = "nowhere" if name == "unknown" else "{id}"
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<int:{name}>", value).replace(f"<path:{name}>", value)
        routes.append((rule.endpoint, path))
    assert len(routes) > 5
    return sorted(routes)


@pytest.fixture
def ids(services):
    patient = add_patient(services)
    return {"patient": patient, "appointment": book(services, patient, time(10, 0))}


def _fill(path: str, ids: dict, *, post: bool) -> str:
    if post:
        return path.format(id=UNKNOWN)
    if "/patients/" in path:
        return path.format(id=ids["patient"])
    if "/appointments/" in path:
        return path.format(id=ids["appointment"])
    return path.format(id=UNKNOWN)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(app, ids):
    client = app.test_client()
    for endpoint, path in portal_routes(app, "GET"):
        response = client.get(_fill(path, ids, post=False))
        assert response.status_code == 303, endpoint
        assert response.headers["Location"].startswith("/login?next=/portal"), endpoint


def test_anonymous_forms_are_refused_with_or_without_a_token(app, ids):
    client = app.test_client()
    token = csrf_of(client.get("/login"))
    for endpoint, path in portal_routes(app, "POST"):
        url = _fill(path, ids, post=True)
        assert client.post(url).status_code == 400, endpoint  # no CSRF token
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 303, endpoint
        assert response.headers["Location"] == "/login?next=/portal/", endpoint


def test_staff_open_every_schedule_page_and_no_admin_page(app, ids, staff):
    for endpoint, path in portal_routes(app, "GET"):
        response = staff.get(_fill(path, ids, post=False))
        if endpoint.startswith("portal_admin."):
            assert response.status_code == 403, endpoint
            assert "for admins" in text(response)
        else:
            assert response.status_code in (200, 303, 404), endpoint
            if response.status_code == 303:
                assert not response.headers["Location"].startswith("/login"), endpoint


def test_staff_forms_on_admin_pages_are_403(app, ids, staff):
    token = csrf_of(staff.get("/portal/"))
    for endpoint, path in portal_routes(app, "POST"):
        response = staff.post(_fill(path, ids, post=True), data={"csrf_token": token})
        if endpoint.startswith("portal_admin."):
            assert response.status_code == 403, endpoint
        else:
            assert response.status_code in (200, 303, 400, 404, 409), endpoint


def test_admins_open_every_page(app, ids, admin):
    for endpoint, path in portal_routes(app, "GET"):
        response = admin.get(_fill(path, ids, post=False))
        assert response.status_code in (200, 303, 404), endpoint
        if response.status_code == 303:
            assert not response.headers["Location"].startswith("/login"), endpoint


def test_admins_may_send_every_form(app, ids, admin):
    token = csrf_of(admin.get("/portal/"))
    for endpoint, path in portal_routes(app, "POST"):
        response = admin.post(_fill(path, ids, post=True), data={"csrf_token": token})
        assert response.status_code not in (401, 403, 500), endpoint
        if response.status_code == 303:
            assert not response.headers["Location"].startswith("/login"), endpoint


def test_the_matrix_changed_nothing(app, ids, staff, admin, services):
    from scheduler.models import Appointment, AppointmentStatus

    test_staff_forms_on_admin_pages_are_403(app, ids, staff)
    test_admins_may_send_every_form(app, ids, admin)
    with services.sessions() as db:
        assert db.get(Appointment, ids["appointment"]).status == AppointmentStatus.BOOKED
    assert admin.get("/portal/").status_code == 200 and staff.get("/portal/").status_code == 200
