"""The urgent queue as the front desk uses it, in headless Chromium on a desk screen and on a
390 px phone: from the menu to the queue (urgent, then soon, routine folded away), a level raised
with a reason, a change without a reason refused. A screenshot after every step in
tests/browser/screenshots/<test name>/; nothing overflows the screen sideways and the console
stays clean (conftest)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

if os.environ.get("REQUIRE_BROWSER") != "1":  # required: a missing selenium fails the import
    pytest.importorskip("selenium", reason="selenium is not installed (requirements-dev.txt)")

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bot.tools import Caller, SchedulingTools
from scheduler.models import AuditEvent, WaitlistEntry
from scheduler.patients import find_or_create_patient, set_patient_name
from tests.browser.pages import DESKTOP, PASSWORD, PHONE, add_desk, fits, go, heading, wait

# (name, phone, type, level, minutes waiting by the clock's now)
WAITING = [
    ("Marisol Quintero-Vance", "+12125550142", "sick-visit", "urgent", 200),
    ("Bartholomew Featherstonehaugh-Quist", "+12125550143", "checkup", "soon", 1500),
    ("Odile Fernsby", "+12125550144", "vaccination", "routine", 45),
    ("Desmond Ahlgrenn", "+12125550145", "checkup", "soon", 90),
]


@pytest.fixture
def front_desk(live_app):
    """A staff login ("desk") and four waitlist entries joined at their own times; returns the
    live app and the entries' ids in WAITING's order."""
    services = live_app.services
    with services.sessions.begin() as db:
        add_desk(db, services)
    ids = []
    caller = Caller(role="staff", channel="slack", staff_id="U1")
    for name, phone, kind, level, minutes in WAITING:
        joined_at = services.clock() - timedelta(minutes=minutes)
        with services.sessions.begin() as db:
            patient = find_or_create_patient(db, services.vault, phone, now=joined_at)
            set_patient_name(services.vault, patient, name)
            db.flush()
            tools = SchedulingTools(db, services.clinic, services.audit, caller, joined_at)
            entry, _ = tools.join_waitlist(kind, patient_id=patient.id, priority=level)
            ids.append(entry.id)
    return live_app, ids


def shown_order(driver) -> list[str]:
    return [
        row.get_attribute("id") for row in driver.find_elements(By.CSS_SELECTOR, ".urgency-row")
    ]


@pytest.mark.parametrize("window_size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_front_desk_sees_the_urgent_queue_and_raises_a_level(
    front_desk, browser, shots, window_size
):
    live, (urgent, soon_long, routine, soon_new) = front_desk
    driver = browser

    def step(name):
        fits(driver, window_size[0])
        shots(name)

    driver.get(f"{live.url}/portal/")
    wait(driver, lambda d: heading(d) == "Sign in")
    driver.find_element(By.ID, "username").send_keys("desk")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"), "2026")

    go(driver, driver.find_element(By.LINK_TEXT, "Urgent"), "Urgent queue")
    assert shown_order(driver) == [f"entry-{i}" for i in (urgent, soon_long, soon_new, routine)]
    first = driver.find_element(By.ID, f"entry-{urgent}")
    assert "Marisol Quintero-Vance" in first.text and "Waiting 3 h 20 min" in first.text
    assert "Waiting 1 day 1 h" in driver.find_element(By.ID, f"entry-{soon_long}").text
    routine_row = driver.find_element(By.ID, f"entry-{routine}")
    assert not routine_row.is_displayed()  # folded away under "Routine"
    step("the queue")

    driver.find_element(By.CSS_SELECTOR, ".urgency-routine > summary").click()
    wait(driver, lambda d: routine_row.is_displayed())
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", routine_row)
    step("routine opened")

    # Raise the routine vaccination to urgent, with the reason.
    Select(driver.find_element(By.ID, f"level-{routine}")).select_by_value("urgent")
    driver.find_element(By.ID, f"reason-{routine}").send_keys("swelling at the last injection site")
    step("a new level and why")
    go(driver, routine_row.find_element(By.CSS_SELECTOR, "button[type=submit]"), "Urgent queue")
    message = driver.find_element(By.CSS_SELECTOR, ".message-done").text
    assert message == "Odile Fernsby is now urgent (was routine); your reason is recorded."
    # Urgent now, and waiting less long than the other urgent one: second.
    assert shown_order(driver)[:2] == [f"entry-{urgent}", f"entry-{routine}"]
    step("raised")

    # Spaces only are no reason: refused, nothing changed.
    Select(driver.find_element(By.ID, f"level-{soon_new}")).select_by_value("routine")
    driver.find_element(By.ID, f"reason-{soon_new}").send_keys("   ")
    row = driver.find_element(By.ID, f"entry-{soon_new}")
    go(driver, row.find_element(By.CSS_SELECTOR, "button[type=submit]"), "Urgent queue")
    problem = driver.find_element(By.CSS_SELECTOR, ".message-problem").text
    assert problem == "Say why the level changes. Nothing was changed."
    step("no reason refused")

    with live.services.sessions() as db:
        assert db.get(WaitlistEntry, routine).priority == "urgent"
        assert db.get(WaitlistEntry, soon_new).priority == "soon"
        [event] = db.query(AuditEvent).filter(AuditEvent.kind == "urgency_changed").all()
        assert (event.actor, event.channel) == ("staff:desk", "portal")
