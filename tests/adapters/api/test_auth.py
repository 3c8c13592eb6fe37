"""Who may call what: every route and method of /api/v1, for every kind of caller.

Anonymous, a made-up token and a revoked token are 401 (with `WWW-Authenticate: Bearer`), a role
that may not use the API 403, each a problem that changes nothing; staff and admins may make
every call. openapi.json and the docs page need no token.
"""

from __future__ import annotations

from datetime import date, time

import pytest

from tests.adapters.api.support import OTHER_PHONE, book_earlier, counts

# Every operation under /api/v1 with a request that staff may make: (method, path, body).
# {appointment}, {started}, {patient} and {entry} are filled in with rows made for the test.
CALLS = [
    ("GET", "/api/v1/appointments", None),
    ("POST", "/api/v1/appointments", "booking"),
    ("GET", "/api/v1/appointments/{appointment}", None),
    ("PUT", "/api/v1/appointments/{appointment}", "move"),
    ("PATCH", "/api/v1/appointments/{started}", "attendance"),
    ("DELETE", "/api/v1/appointments/{appointment}", None),
    ("GET", "/api/v1/slots?type=checkup&from=2026-03-05&to=2026-03-05", None),
    ("GET", "/api/v1/providers", None),
    ("GET", "/api/v1/appointment-types", None),
    ("GET", "/api/v1/patients?q=Testperson", None),
    ("POST", "/api/v1/patients", {"phone": OTHER_PHONE, "name": "Robin Examplename"}),
    ("GET", "/api/v1/patients/{patient}", None),
    ("GET", "/api/v1/waitlist", None),
    ("POST", "/api/v1/waitlist", "waitlist"),
    ("PATCH", "/api/v1/waitlist/{entry}", "urgency"),
    ("DELETE", "/api/v1/waitlist/{entry}", None),
    ("GET", "/api/v1/analytics?from=2026-03-01&to=2026-03-04", None),
]
REFUSED = {"anonymous": 401, "wrong": 401, "revoked": 401, "other_role": 403}
OPEN = ("/api/v1/openapi.json", "/api/v1/docs")


@pytest.fixture
def rows(client, services, users, patient_id):
    """An appointment tomorrow and a waitlist entry, made by the admin, and a visit that started
    at 8 this morning."""
    slots = client.get(
        "/api/v1/slots?type=checkup&from=2026-03-05&to=2026-03-05", headers=users.admin
    ).get_json()["items"]
    booked = client.post(
        "/api/v1/appointments",
        json={"patient": patient_id, "appointment_type": "checkup", "start": slots[0]["start"]},
        headers=users.admin,
    ).get_json()
    entry = client.post(
        "/api/v1/waitlist",
        json={"patient": patient_id, "appointment_type": "vaccination"},
        headers=users.admin,
    ).get_json()
    bodies = {
        "booking": {
            "patient": patient_id,
            "appointment_type": "checkup",
            "start": slots[8]["start"],
        },
        "move": {"start": slots[12]["start"]},
        "waitlist": {"patient": patient_id, "appointment_type": "checkup"},
        "attendance": {"status": "fulfilled"},
        "urgency": {"priority": "soon", "reason": "a rash that is spreading"},
    }
    started = book_earlier(services, patient_id, date(2026, 3, 4), time(8, 0))
    ids = {"appointment": booked["id"], "started": started, "patient": patient_id}
    return {**ids, "entry": entry["id"]}, bodies


def send(client, method, path, body, headers, rows):
    ids, bodies = rows
    if isinstance(body, str):
        body = bodies[body]
    return client.open(path.format(**ids), method=method, json=body, headers=headers)


def test_the_table_covers_every_route_and_method(app):
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and rule.rule not in OPEN
        and not rule.rule.startswith("/api/v1/docs/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    listed = {
        (
            method,
            path.split("?")[0]
            .replace("{appointment}", "<int(min=1, max=2147483647):appointment_id>")
            .replace("{started}", "<int(min=1, max=2147483647):appointment_id>")
            .replace("{patient}", "<int(min=1, max=2147483647):patient_id>")
            .replace("{entry}", "<int(min=1, max=2147483647):entry_id>"),
        )
        for method, path, _ in CALLS
    }
    assert routes == listed


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_callers_without_a_valid_staff_token_are_refused_and_change_nothing(
    client, services, users, rows, who
):
    before = counts(services, audit=True)
    for method, path, body in CALLS:
        response = send(client, method, path, body, getattr(users, who), rows)
        assert response.status_code == REFUSED[who], (method, path, response.get_json())
        assert response.content_type == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == REFUSED[who] and problem["title"] and problem["detail"]
        if REFUSED[who] == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert counts(services, audit=True) == before


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_staff_and_admins_may_make_every_call(client, users, rows, who):
    for method, path, body in CALLS:
        response = send(client, method, path, body, getattr(users, who), rows)
        assert response.status_code in (200, 201), (method, path, response.get_json())
        assert response.content_type == "application/json"
        assert response.headers["Cache-Control"] == "no-store"


def test_the_document_and_the_docs_page_need_no_token(client):
    for path in OPEN:
        assert client.get(path).status_code == 200


def test_a_bearer_token_is_read_only_from_the_authorization_header(client, users):
    token = users.staff["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/api/v1/providers?access_token={token}").status_code == 401
    assert (
        client.get("/api/v1/providers", headers={"Authorization": f"Basic {token}"}).status_code
        == 401
    )
    assert client.get("/api/v1/providers", headers={"Authorization": "Bearer"}).status_code == 401
    assert (
        client.get("/api/v1/providers", headers={"Authorization": f"bearer {token}"}).status_code
        == 200
    )
