"""The analytics dashboard in headless Chromium, on a desk screen and on a 390 px phone: a small
history in the live app's database (visits in several statuses, reminders, language-engine
turns: tests/analytics_support.py), sign in, open the dashboard; every chart is drawn by Chart.js
(a canvas of some size with a chart on it), its table holds the API's numbers, a CSV link
downloads, a reversed range is said on the page. Nothing overflows the screen sideways and the
console stays clean, so the CSP blocked nothing (conftest). Screenshots in
tests/browser/screenshots/<test name>/."""

from __future__ import annotations

import os

import pytest

if os.environ.get("REQUIRE_BROWSER") != "1":  # required: a missing selenium fails the import
    pytest.importorskip("selenium", reason="selenium is not installed (requirements-dev.txt)")

import requests
from selenium.webdriver.common.by import By

from scheduler.accounts import create_token
from tests.analytics_support import QUERY, make_history, percent_text
from tests.browser.pages import DESKTOP, PASSWORD, PHONE, add_desk, fits, go, heading, wait

# Each chart: its canvas's drawn size and whether Chart.js has a chart on it.
CHARTS = """
return Array.from(document.querySelectorAll('canvas[data-chart]')).map(function (canvas) {
  var chart = window.Chart && window.Chart.getChart(canvas);
  return {id: canvas.id, width: canvas.clientWidth, height: canvas.clientHeight,
          drawn: !!chart, points: chart ? chart.data.datasets[0].data.length : 0};
});
"""
FIGURES = """
var found = {};
document.querySelectorAll('[data-figure]').forEach(function (el) {
  found[el.dataset.figure] = el.textContent.trim();
});
return found;
"""
# Whether a table's title ends within its block (a <caption> in the box that scrolls sideways
# takes the table's width and is cut off on a phone).
TITLE_FITS = """
var title = document.getElementById(arguments[0]);
var box = title.closest('.dash-block').getBoundingClientRect();
return title.getBoundingClientRect().right <= box.right && title.scrollWidth <= title.clientWidth;
"""
CHART_IDS = {
    "chart-statuses",
    "chart-no-show-trend",
    "chart-utilisation",
    "chart-utilisation-by-day",
    "chart-reminders",
    "chart-engine-turns",
    "chart-engine-tokens",
}


def open_dashboard(driver, url):
    """Open `url` (a dashboard address) and sign in as "desk" on the way."""
    driver.get(url)
    wait(driver, lambda d: heading(d) == "Sign in")
    driver.find_element(By.ID, "username").send_keys("desk")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"), "Dashboard")


@pytest.fixture
def clinic_history(live_app):
    """A staff login ("desk"), the history, and an API token of the same user."""
    services = live_app.services
    make_history(services)
    with services.sessions.begin() as db:
        _, token = create_token(db, add_desk(db, services), "browser test", services.clock())
    return live_app, token


def _scroll_to(driver, selector):
    element = driver.find_element(By.CSS_SELECTOR, selector)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", element)
    return element


@pytest.mark.parametrize("window_size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_dashboard_draws_its_charts_with_the_api_s_numbers(
    clinic_history, browser, shots, window_size
):
    live, token = clinic_history
    driver, url = browser, live.url

    def step(name):
        fits(driver, window_size[0])
        shots(name)

    # Charts drawn at once (dashboard.js honours reduced motion): screenshots of whole bars.
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )
    open_dashboard(driver, f"{url}/portal/dashboard?{QUERY}")
    assert "Sunday, March 1, 2026 to Tuesday, March 10, 2026 (10 days)" in heading(driver)
    assert driver.find_element(By.ID, "dash-from").get_attribute("value") == "2026-03-01"

    # Every chart drawn: a canvas with a size, and Chart.js's chart on it.
    wait(driver, lambda d: all(c["drawn"] for c in d.execute_script(CHARTS)))
    charts = driver.execute_script(CHARTS)
    assert {c["id"] for c in charts} == CHART_IDS
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 100, chart
        assert chart["width"] <= window_size[0], chart
        assert chart["points"] > 0, chart
    step("dashboard top")

    # The tables hold the API's numbers.
    api = requests.get(
        f"{url}/api/v1/analytics?{QUERY}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    shown = driver.execute_script(FIGURES)
    for status, number in api["appointments"].items():
        assert shown[f"appointments.{status}"] == str(number), status
    assert shown["no_show_rate"] == percent_text(api["no_show_rate"]) == "50.0%"
    for holder in api["utilisation"]:
        path = f"utilisation.{holder['kind']}.{holder['id']}.rate"
        assert shown[path] == percent_text(holder["rate"]), path
    for key in ("sent", "delivered", "failed", "confirmed"):
        assert shown[f"reminders.{key}"] == str(api["reminders"][key]), key
    for key in ("turns", "bedrock_turns", "local_turns", "fallbacks", "errors"):
        assert shown[f"llm.{key}"] == str(api["llm"][key]), key

    for section in ("utilisation", "waiting", "reminders", "channels", "engine"):
        _scroll_to(driver, f"#{section}")
        step(f"section {section}")
    _scroll_to(driver, ".dash-block:has(table.heat)")
    step("heat map")
    # The heat map's title wraps on the screen: it is above the box that scrolls sideways.
    assert driver.execute_script(TITLE_FITS, "utilisation-3-table"), "the title is cut off"

    # A CSV link downloads the section, with the signed-in session's cookie.
    link = driver.find_element(
        By.CSS_SELECTOR, '#utilisation a.download[href*="section=utilisation&"]'
    )
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    answer = requests.get(link.get_attribute("href"), cookies=cookies, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    header, *rows = answer.text.splitlines()
    assert header == "kind,id,name,booked_minutes,open_minutes,rate"
    assert any(row.startswith("provider,okafor,Dr. Amara Okafor,120,") for row in rows)
    assert "Avery" not in answer.text

    # A reversed range: the page says so, with the form to put it right.
    driver.execute_script("window.scrollTo(0, 0);")
    driver.execute_script(
        "arguments[0].value = '2026-03-10'; arguments[1].value = '2026-03-01';",
        driver.find_element(By.ID, "dash-from"),
        driver.find_element(By.ID, "dash-to"),
    )
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.dash-form button[type=submit]"), "Dash")
    problem = driver.find_element(By.ID, "dashboard-problem").text
    assert problem == "'to' is before 'from': give the earlier date first"
    assert driver.find_elements(By.CSS_SELECTOR, "canvas") == []
    step("a reversed range")


@pytest.mark.parametrize("window_size", [PHONE], ids=["phone"])
def test_an_empty_clinic_says_no_data_yet(live_app, browser, shots, window_size):
    with live_app.services.sessions.begin() as db:
        add_desk(db, live_app.services)
    driver = browser
    open_dashboard(driver, f"{live_app.url}/portal/dashboard")
    assert "No data yet" in driver.find_element(By.ID, "dashboard-empty").text
    assert driver.find_elements(By.CSS_SELECTOR, "canvas") == []
    fits(driver, window_size[0])
    shots("empty clinic")
