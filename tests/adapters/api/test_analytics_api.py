"""GET /api/v1/analytics: who may call it, each refusal as a 422 problem with the analytics'
message, an empty clinic's zeros and nulls, a small history's figures, the filters (by the API's
ids), and the same numbers on the portal's dashboard page. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.adapters.api.support import counts
from tests.adapters.portal.conftest import add_user, sign_in
from tests.analytics_support import FIRST, LAST, QUERY, figures_on, make_history, percent_text

URL = "/api/v1/analytics"
REFUSED = {"anonymous": 401, "wrong": 401, "revoked": 401, "other_role": 403}


@pytest.fixture
def history(services):
    return make_history(services)


# --- who may call it ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", sorted(REFUSED))
def test_callers_without_a_valid_staff_token_are_refused(client, services, users, who):
    before = counts(services, audit=True)
    response = client.get(f"{URL}?{QUERY}", headers=getattr(users, who))
    assert response.status_code == REFUSED[who]
    assert response.content_type == "application/problem+json"
    assert response.get_json()["status"] == REFUSED[who]
    if REFUSED[who] == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert counts(services, audit=True) == before


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_staff_and_admins_get_the_figures(client, users, who):
    response = client.get(f"{URL}?{QUERY}", headers=getattr(users, who))
    assert response.status_code == 200, response.get_json()
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["from"] == FIRST.isoformat() and body["to"] == LAST.isoformat()
    assert body["timezone"] == "America/New_York"


def test_the_document_describes_the_route_and_its_answer(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/analytics"]["get"]
    names = {p["name"]: p for p in operation["parameters"]}
    assert set(names) == {"from", "to", "provider", "appointment_type", "channel"}
    assert names["from"]["required"] and names["to"]["required"]
    assert names["from"]["schema"]["format"] == "date"
    assert "422" in operation["responses"] and "401" in operation["responses"]
    schema = document["components"]["schemas"]["Analytics"]
    for key in ("appointments", "no_show_rate", "utilisation", "lead_time_days", "reminders"):
        assert key in schema["required"]
    for key in ("waitlist", "channels", "llm", "heatmap", "next_available", "conversations"):
        assert key in schema["required"]


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("", "'from' is required, as a date like 2026-03-01"),
        ("from=2026-03-01", "'to' is required, as a date like 2026-03-01"),
        ("from=March&to=2026-03-04", "'from' must be a date like 2026-03-01, not 'March'"),
        ("from=2026-03-01&to=2026-02-30", "'to' must be a date like 2026-03-01"),
        ("from=2026-03-04&to=2026-03-01", "'to' is before 'from': give the earlier date first"),
        ("from=2024-01-01&to=2026-01-01", "the range is over two years: ask for a shorter one"),
        ("from=1999-12-30&to=2000-01-02", "the dates must be in the years 2000 to 2199"),
        (f"{QUERY}&provider=nobody", "no provider 'nobody'"),
        (f"{QUERY}&appointment_type=massage", "no appointment type 'massage'"),
        (f"{QUERY}&channel=fax", "must be one of sms, web, slack, portal, api, fhir"),
        (f"{QUERY}&provider=Dr%20Okafor", "is not a known id"),
    ],
)
def test_what_cannot_be_answered_is_a_422_problem_that_says_why(client, staff, query, detail):
    response = client.get(f"{URL}?{query}", headers=staff)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "urn:medical-ai-scheduler:problem:invalid"
    assert problem["status"] == 422 and detail in problem["detail"]


def test_a_two_year_range_is_answered(client, staff):
    response = client.get(f"{URL}?from=2024-03-05&to=2026-03-04", headers=staff)
    assert response.status_code == 200


# --- the figures -------------------------------------------------------------------------------


def test_an_empty_clinic_is_zeros_and_nulls(client, staff):
    body = client.get(f"{URL}?{QUERY}", headers=staff).get_json()
    assert body["appointments"] == {
        "booked": 0,
        "cancelled": 0,
        "fulfilled": 0,
        "noshow": 0,
        "unmarked": 0,
        "total": 0,
    }
    assert body["no_show_rate"] is None and body["late_cancellations"] == 0
    assert body["no_show_trend"] == [] and body["channels"] == {}
    assert body["lead_time_days"] == {"p50": None, "p90": None}
    assert all(h["booked_minutes"] == 0 for h in body["utilisation"])
    okafor = _holder(body, "provider", "okafor")
    assert okafor["open_minutes"] > 0 and okafor["rate"] == 0.0
    assert body["reminders"]["sent"] == 0 and body["reminders"]["no_show_rate_reminded"] is None
    assert body["waitlist"] == {
        "offers": 0,
        "freed_times": 0,
        "filled": 0,
        "fill_rate": None,
        "median_minutes_to_fill": None,
        "minutes_won_back": 0,
    }
    assert body["conversations"]["booking_rate"] is None
    assert body["conversations"]["turns_per_booking"] is None
    assert body["llm"]["turns"] == 0 and body["llm"]["latency_ms_p50"] is None
    assert body["llm"]["by_day"] == [] and body["llm"]["by_engine"] == {}
    assert body["waiting"]["urgent"]["requests"] == 0
    assert [n["appointment_type"] for n in body["next_available"]][:1] == ["checkup"]


def test_a_small_history_s_figures(client, staff, history):
    body = client.get(f"{URL}?{QUERY}", headers=staff).get_json()
    assert body["appointments"] == {
        "booked": 1,
        "cancelled": 2,
        "fulfilled": 2,
        "noshow": 2,
        "unmarked": 0,
        "total": 7,
    }
    assert body["no_show_rate"] == 0.5 and body["late_cancellations"] == 1
    okafor = _holder(body, "provider", "okafor")
    assert okafor["booked_minutes"] == 4 * 30  # three on 03-02, one on 03-09
    assert body["reminders"]["sent"] == 2 and body["reminders"]["failed"] == 1
    assert body["reminders"]["confirmed"] == 1
    assert body["reminders"]["no_show_rate_reminded"] == 0.5
    assert body["reminders"]["no_show_rate_not_reminded"] == 0.5
    llm = body["llm"]
    assert (llm["turns"], llm["bedrock_turns"], llm["local_turns"]) == (5, 3, 2)
    assert (llm["fallbacks"], llm["errors"]) == (1, 1)
    assert llm["input_tokens"] == 3600 and llm["output_tokens"] == 200
    assert [d["date"] for d in llm["by_day"]] == ["2026-03-02", "2026-03-03"]
    # Bookings by when they were made: 02-20, outside these dates.
    assert body["channels"] == {}
    booked = client.get(f"{URL}?from=2026-02-20&to=2026-02-20", headers=staff).get_json()
    assert booked["channels"] == {"api": 1, "portal": 1, "sms": 3, "web": 2}


def test_the_filters_take_the_api_s_ids(client, staff, history):
    providers = {
        p["id"] for p in client.get("/api/v1/providers", headers=staff).get_json()["items"]
    }
    assert "okafor" in providers
    body = client.get(f"{URL}?{QUERY}&provider=okafor", headers=staff).get_json()
    assert body["filters"]["provider"] == "okafor"
    assert body["appointments"]["total"] == 4 and body["no_show_rate"] == 0.3333
    assert [h["id"] for h in body["utilisation"] if h["kind"] == "provider"] == ["okafor"]
    body = client.get(f"{URL}?{QUERY}&appointment_type=vaccination", headers=staff).get_json()
    assert body["appointments"]["total"] == 1 and body["appointments"]["cancelled"] == 1
    assert [n["appointment_type"] for n in body["next_available"]] == ["vaccination"]
    body = client.get(f"{URL}?{QUERY}&channel=sms", headers=staff).get_json()
    assert body["appointments"]["total"] == 3 and body["llm"]["turns"] == 5


def _holder(body, kind, key):
    return next(h for h in body["utilisation"] if h["kind"] == kind and h["id"] == key)


# --- the page agrees ---------------------------------------------------------------------------


def test_the_dashboard_page_shows_the_api_s_numbers(app, client, services, staff, history):
    body = client.get(f"{URL}?{QUERY}", headers=staff).get_json()
    add_user(services, "clerk", "staff")
    portal = app.test_client()
    sign_in(portal, "clerk")
    page = portal.get(f"/portal/dashboard?{QUERY}")
    assert page.status_code == 200
    shown = figures_on(page.get_data(as_text=True))
    for status in ("booked", "cancelled", "fulfilled", "noshow", "unmarked", "total"):
        assert shown[f"appointments.{status}"] == str(body["appointments"][status]), status
    assert shown["no_show_rate"] == percent_text(body["no_show_rate"]) == "50.0%"
    assert shown["late_cancellations"] == str(body["late_cancellations"])
    for holder in body["utilisation"]:
        path = f"utilisation.{holder['kind']}.{holder['id']}"
        assert shown[f"{path}.rate"] == percent_text(holder["rate"]), path
        assert shown[f"{path}.booked_minutes"] == f"{holder['booked_minutes']:,}", path
        assert shown[f"{path}.open_minutes"] == f"{holder['open_minutes']:,}", path
    for key in ("sent", "delivered", "failed", "confirmed", "cancelled_by_reply"):
        assert shown[f"reminders.{key}"] == str(body["reminders"][key]), key
    assert shown["reminders.no_show_rate_reminded"] == percent_text(
        body["reminders"]["no_show_rate_reminded"]
    )
    for key in ("turns", "bedrock_turns", "local_turns", "fallbacks", "errors"):
        assert shown[f"llm.{key}"] == str(body["llm"][key]), key
    assert shown["llm.input_tokens"] == f"{body['llm']['input_tokens']:,}"
    assert shown["llm.latency_ms_p50"] == f"{body['llm']['latency_ms_p50']:,.1f} ms".replace(
        ".0 ", " "
    )
    for week in body["no_show_trend"]:
        assert shown[f"no_show_trend.{week['week']}.rate"] == percent_text(week["rate"])
    for cell in body["heatmap"]:
        if cell["open_minutes"]:
            key = f"heatmap.{cell['weekday']}.{cell['hour']}"
            assert shown[key] == percent_text(cell["rate"]), key
    for day in body["llm"]["by_day"]:
        assert shown[f"llm.by_day.{day['date']}.bedrock"] == str(day["bedrock"])
    assert shown["waitlist.offers"] == str(body["waitlist"]["offers"])
    assert shown["conversations.total"] == str(body["conversations"]["total"])
