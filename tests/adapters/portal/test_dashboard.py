"""The analytics dashboard (/portal/dashboard) and its CSV downloads: sign-in first, staff and
admins, the default range, bad input said on the page (never a 500), "No data yet" for an empty
clinic, the charts' data blocks and their tables, the security headers, and each CSV section.
On SQLite and PostgreSQL, with the test clock (Wednesday 2026-03-04 09:00 in New York)."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest

from adapters.portal.dashboard_csv import SECTIONS
from adapters.portal.security import CONTENT_SECURITY_POLICY
from tests.adapters.portal.conftest import text
from tests.analytics_support import QUERY, figures_on, make_history

PAGE = "/portal/dashboard"
_DATA = re.compile(
    r'<script type="application/json" id="(chart-[a-z-]+-data)">(.*?)</script>', re.S
)


@pytest.fixture
def history(services):
    return make_history(services)


def charts_on(page: str) -> dict[str, dict]:
    return {name: json.loads(unescape(body)) for name, body in _DATA.findall(page)}


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text(response))))


def test_the_page_needs_sign_in(app):
    client = app.test_client()
    for path in (PAGE, f"{PAGE}?{QUERY}", f"{PAGE}.csv?section=utilisation"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login?next=/portal/dashboard")


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_staff_and_admins_see_it_from_the_menu(people, who):
    client = getattr(people, who)
    day = text(client.get("/portal/"))
    assert 'href="/portal/dashboard"' in day and ">Dashboard<" in day
    response = client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Dashboard" in page and 'aria-current="page">Dashboard<' in page
    # The default: the 28 days to today, the clinic's dates.
    assert 'value="2026-02-05"' in page and 'value="2026-03-04"' in page
    assert "Thursday, February 5, 2026 to Wednesday, March 4, 2026 (28 days)" in page


def test_the_headers_and_the_scripts_are_the_portal_s(staff):
    response = staff.get(f"{PAGE}?{QUERY}")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"
    page = text(response)
    assert '<script src="/portal/static/vendor/chart.umd.min.js" defer></script>' in page
    assert '<script src="/portal/static/dashboard.js" defer></script>' in page
    assert "style=" not in page  # the CSP allows no style attribute
    assert re.findall(r"<script(?![^>]*(?:src=|type=\"application/json\"))", page) == []
    for path in ("vendor/chart.umd.min.js", "dashboard.js", "dashboard.css"):
        with staff.get(f"/portal/static/{path}") as static:
            assert static.status_code == 200, path


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "from=yesterday",
            "&#39;from&#39; must be a date like 2026-03-01, not &#39;yesterday&#39;",
        ),
        ("from=2026-03-04&to=2026-03-01", "&#39;to&#39; is before &#39;from&#39;"),
        ("from=2020-01-01&to=2026-03-01", "the range is over two years"),
        ("from=1900-01-01&to=1900-01-02", "the dates must be in the years 2000 to 2199"),
        ("from=0001-01-01&to=0001-01-02", "the dates must be in the years 2000 to 2199"),
        ("provider=nobody", "no provider &#39;nobody&#39;"),
        ("appointment_type=massage", "no appointment type &#39;massage&#39;"),
        ("channel=fax", "channel must be one of sms, web, slack, portal, api, fhir"),
    ],
)
def test_bad_input_is_said_on_the_page_with_the_form(staff, query, message):
    response = staff.get(f"{PAGE}?{query}")
    assert response.status_code == 200
    page = text(response)
    assert 'class="message message-problem" role="alert" id="dashboard-problem"' in page
    assert message in page
    assert 'id="dash-from"' in page  # the form, to put it right
    assert "data-figure" not in page and "<canvas" not in page


def test_an_empty_clinic_says_no_data_yet_instead_of_charts(staff):
    page = text(staff.get(PAGE))
    assert 'id="dashboard-empty"' in page and "No data yet" in page
    assert "<canvas" not in page and charts_on(page) == {}
    shown = figures_on(page)
    assert shown["appointments.total"] == "0"
    assert shown["no_show_rate"] == "–" and shown["waitlist.fill_rate"] == "–"
    assert shown["llm.latency_ms_p50"] == "–"
    assert shown["utilisation.provider.okafor.rate"] == "0.0%"  # open, nothing booked
    assert page.count("No data yet: nothing to show") >= 6


def test_a_history_draws_each_chart_from_its_data_block(staff, history):
    page = text(staff.get(f"{PAGE}?{QUERY}"))
    assert 'id="dashboard-empty"' not in page
    charts = charts_on(page)
    assert set(charts) == {
        f"chart-{name}-data"
        for name in (
            "statuses",
            "no-show-trend",
            "utilisation",
            "utilisation-by-day",
            "reminders",
            "engine-turns",
            "engine-tokens",
        )
    }
    for name in charts:
        assert f'data-chart="{name}"' in page  # its canvas
    statuses = charts["chart-statuses-data"]
    assert statuses["type"] == "bar"
    assert statuses["data"]["labels"] == ["Booked", "Attended", "No-show", "Cancelled"]
    assert statuses["data"]["datasets"][0]["data"] == [1, 2, 2, 2]
    turns = charts["chart-engine-turns-data"]
    assert turns["stacked"] and [s["data"] for s in turns["data"]["datasets"]] == [[2, 1], [0, 2]]
    assert charts["chart-no-show-trend-data"]["percent"]
    # No bookings were made in these dates (they were made on 02-20): that chart says so.
    assert "Bookings by channel" in page and "chart-channels" not in page
    shown = figures_on(page)
    assert shown["appointments.noshow"] == "2" and shown["no_show_rate"] == "50.0%"
    assert shown["reminders.sent"] == "2" and shown["reminders.failed"] == "1"
    assert shown["llm.turns"] == "5" and shown["llm.fallbacks"] == "1"
    assert shown["llm.by_day.2026-03-03.local"] == "2"


def test_the_filters_narrow_the_page(staff, history):
    page = text(staff.get(f"{PAGE}?{QUERY}&provider=okafor&channel=sms"))
    assert '<option value="okafor" selected>' in page and '<option value="sms" selected>' in page
    shown = figures_on(page)
    assert shown["appointments.total"] == "3"
    assert "utilisation.provider.lindqvist.rate" not in shown
    page = text(staff.get("/portal/dashboard?from=2026-02-20&to=2026-02-20"))
    assert figures_on(page)["channels.sms"] == "3"
    assert "chart-channels-data" in page


def test_the_heat_map_is_a_table_of_bands(staff, history):
    page = text(staff.get(f"{PAGE}?{QUERY}"))
    assert re.search(r'<table class="list figures heat"[ >]', page)
    assert re.search(r'<td class="heat-[0-9]" data-figure="heatmap\.0\.10">', page)
    assert '<th scope="col">Mon</th>' in page and '<th scope="row">10 AM</th>' in page
    # Its title above the box that scrolls (a <caption> in it is cut off on a phone) names it.
    assert (
        '<p class="table-title" id="utilisation-3-table">Providers&#39; booked share of open time'
        in page
    )
    assert '<table class="list figures heat" aria-labelledby="utilisation-3-table">' in page
    assert "<caption" not in page


def test_every_csv_link_on_the_page_downloads_its_section(staff, history):
    page = text(staff.get(f"{PAGE}?{QUERY}&channel=sms"))
    links = {unescape(link) for link in re.findall(r'href="(/portal/dashboard\.csv\?[^"]+)"', page)}
    assert {re.search(r"section=([a-z_]+)", link).group(1) for link in links} == set(SECTIONS)
    for link in links:
        assert "from=2026-03-01" in link and "to=2026-03-10" in link and "channel=sms" in link
        response = staff.get(link)
        assert response.status_code == 200, link
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith(
            'attachment; filename="dashboard-'
        )
        assert rows_of(response)[0], link  # a header row at least


def test_the_csv_files_hold_the_figures(staff, history):
    def csv_of(section, query=QUERY):
        return rows_of(staff.get(f"{PAGE}.csv?section={section}&{query}"))

    appointments = dict(csv_of("appointments")[1:])
    assert appointments["noshow"] == "2" and appointments["total"] == "7"
    assert appointments["no_show_rate"] == "0.5" and appointments["late_cancellations"] == "1"
    assert "lead_time_days.p50" in appointments
    header, *rows = csv_of("utilisation")
    assert header == ["kind", "id", "name", "booked_minutes", "open_minutes", "rate"]
    okafor = next(r for r in rows if r[1] == "okafor")
    assert okafor[:4] == ["provider", "okafor", "Dr. Amara Okafor", "120"]
    assert csv_of("heatmap")[0] == ["weekday", "hour", "booked_minutes", "open_minutes", "rate"]
    assert csv_of("utilisation_by_day")[0][:3] == ["date", "kind", "id"]
    assert csv_of("no_show_trend")[1:] == [
        ["2026-03-02", "2", "2", "0.5"],
        ["2026-03-09", "0", "0", ""],  # booked and cancelled: nothing marked yet
    ]
    assert csv_of("next_available")[0] == ["appointment_type", "name", "start", "wait_minutes"]
    assert csv_of("waiting") == [
        ["priority", "requests", "median_minutes", "p90_minutes"],
        ["urgent", "0", "", ""],
        ["soon", "0", "", ""],
        ["routine", "0", "", ""],
    ]
    reminders = dict(csv_of("reminders")[1:])
    assert reminders["sent"] == "2" and reminders["confirmed"] == "1"
    assert dict(csv_of("waitlist")[1:])["offers"] == "0"
    assert csv_of("channels", "from=2026-02-20&to=2026-02-20") == [
        ["channel", "bookings"],
        ["api", "1"],
        ["portal", "1"],
        ["sms", "3"],
        ["web", "2"],
    ]
    conversations = dict(csv_of("conversations")[1:])
    assert conversations["ended_in_booking"] == "1" and conversations["handoffs"] == "1"
    llm = dict(csv_of("llm")[1:])
    assert llm["turns"] == "5" and llm["errors"] == "1" and "by_day" not in llm
    assert csv_of("llm_by_day")[1] == ["2026-03-02", "2", "0", "2700", "200"]
    header, *engines = csv_of("llm_by_engine")
    assert header == ["engine", "turns", "latency_ms_p50", "latency_ms_p95"]
    assert [e[:2] for e in engines] == [["bedrock", "3"], ["local", "2"]]
    # No names, phones or message text: the patient's name is nowhere in any section.
    for section in SECTIONS:
        assert "Avery" not in text(staff.get(f"{PAGE}.csv?section={section}&{QUERY}"))


def test_a_bad_csv_request_is_a_page_not_a_500(staff):
    response = staff.get(f"{PAGE}.csv?section=patients&{QUERY}")
    assert response.status_code == 404 and "no such part of the dashboard" in text(response)
    assert staff.get(f"{PAGE}.csv?{QUERY}").status_code == 404
    response = staff.get(f"{PAGE}.csv?section=utilisation&from=2026-03-04&to=2026-03-01")
    assert response.status_code == 400 and "is before" in unescape(text(response))
    # An empty clinic's file: the header row and nothing more.
    rows = rows_of(staff.get(f"{PAGE}.csv?section=no_show_trend&{QUERY}"))
    assert rows == [["week", "fulfilled", "noshow", "rate"]]
    rows = rows_of(staff.get(f"{PAGE}.csv?section=llm_by_engine&{QUERY}"))
    assert rows == [["engine", "turns", "latency_ms_p50", "latency_ms_p95"]]
