"""The staff portal as the front desk uses it, in headless Chromium, on a desk screen and on a
390 px phone: sign in, find a time, book it for a patient, see it on the day's grid, move it,
cancel it, sign out. A screenshot after every step in tests/browser/screenshots/<test name>/;
on every page nothing overflows the screen sideways and the console stays clean (conftest)."""

from __future__ import annotations

import os

import pytest

if os.environ.get("REQUIRE_BROWSER") != "1":  # required: a missing selenium fails the import
    pytest.importorskip("selenium", reason="selenium is not installed (requirements-dev.txt)")

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from scheduler.models import Appointment, AppointmentStatus
from scheduler.patients import find_or_create_patient, set_patient_name
from tests.browser.pages import DESKTOP, PASSWORD, PHONE, add_desk, fits, go, heading, leave, wait

# The focused element and whether its focus ring is drawn.
FOCUS = """
const el = document.activeElement;
const style = getComputedStyle(el);
return {tag: el.tagName, text: el.textContent.trim(), outline: style.outlineStyle,
        width: parseFloat(style.outlineWidth)};
"""


@pytest.fixture
def front_desk(live_app):
    """A staff login ("desk") and a patient to book for, in the live app's database."""
    services = live_app.services
    with services.sessions.begin() as db:
        add_desk(db, services)
        patient = find_or_create_patient(db, services.vault, "+12125550142", now=services.clock())
        set_patient_name(services.vault, patient, "Marisol Quintero-Vance")
    return live_app


@pytest.mark.parametrize("window_size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_front_desk_books_moves_and_cancels_a_visit(front_desk, browser, shots, window_size):
    driver, url = browser, front_desk.url

    def step(name):
        fits(driver, window_size[0])
        shots(name)

    driver.get(f"{url}/portal/")
    wait(driver, lambda d: heading(d) == "Sign in")
    assert "/login?next=/portal/" in driver.current_url
    assert driver.execute_script(FOCUS)["tag"] == "INPUT"  # the username box, ready to type
    step("sign in page")

    driver.find_element(By.ID, "username").send_keys("desk")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    step("sign in filled")
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"), "2026")
    assert "Wednesday, March 4, 2026" in heading(driver)
    step("today")
    # The keyboard: the first Tab shows the skip link, with a visible focus ring.
    ActionChains(driver).send_keys(Keys.TAB).perform()
    focus = driver.execute_script(FOCUS)
    assert focus["text"] == "Skip to the main content"
    assert focus["outline"] != "none" and focus["width"] >= 2
    step("skip link focused")
    ActionChains(driver).send_keys(Keys.TAB).perform()
    assert driver.execute_script(FOCUS)["outline"] != "none"

    # Find a time: a check-up with Dr. Okafor from Monday.
    go(driver, driver.find_element(By.LINK_TEXT, "Find a time"), "Find a time")
    Select(driver.find_element(By.ID, "find-type")).select_by_value("checkup")
    Select(driver.find_element(By.ID, "find-provider")).select_by_value("okafor")
    date = driver.find_element(By.ID, "find-date")
    driver.execute_script("arguments[0].value = '2026-03-09';", date)
    step("find a time")
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"), "Find")
    step("open times")
    slots = driver.find_elements(By.CSS_SELECTOR, ".slots .slot")
    assert slots[0].text.startswith("8:00 AM")
    assert driver.find_element(By.CSS_SELECTOR, ".slot-day").text == "Monday, March 9, 2026"
    go(driver, slots[1], "Who is it for?")  # 8:15
    step("choose the patient")

    box = driver.find_element(By.ID, "query")
    box.send_keys("marisol")
    leave(driver, lambda: box.send_keys(Keys.ENTER), "Who is it for?")
    assert driver.find_elements(By.CSS_SELECTOR, ".people .person")
    step("patient found")
    go(driver, driver.find_element(By.CSS_SELECTOR, ".people .person"), "Book this appointment?")
    assert "Marisol Quintero-Vance" in driver.find_element(By.CSS_SELECTOR, ".facts").text
    step("confirm the booking")
    go(driver, driver.find_element(By.XPATH, "//button[.='Yes, book it']"), "Appointment")
    assert "Booked: General check-up on Mon Mar 9, 8:15 AM" in driver.page_source
    step("booked")
    with front_desk.services.sessions() as db:
        (appointment,) = db.query(Appointment).all()
        assert appointment.booked_via == "portal"

    # The day's grid shows it, and a click opens it.
    go(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "That day's schedule"), "March 9")
    visit = driver.find_element(
        By.CSS_SELECTOR, f'.grid a[href="/portal/appointments/{appointment.id}"]'
    )
    assert "Marisol Quintero-Vance" in visit.text
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", visit)
    step("on the day grid")
    go(driver, visit, f"Appointment {appointment.id}")

    # Move it to Tuesday.
    go(driver, driver.find_element(By.LINK_TEXT, "Move to another time"), "Move appointment")
    driver.execute_script(
        "arguments[0].value = '2026-03-10';", driver.find_element(By.ID, "move-date")
    )
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"), "Move")
    assert driver.find_element(By.CSS_SELECTOR, ".slot-day").text == "Tuesday, March 10, 2026"
    step("move open times")
    go(driver, driver.find_elements(By.CSS_SELECTOR, ".slots .slot")[0], "?")
    step("confirm the move")
    go(driver, driver.find_element(By.XPATH, "//button[.='Yes, move it']"), "Appointment")
    assert "Moved to Tue Mar 10" in driver.page_source
    step("moved")

    # Cancel it.
    go(driver, driver.find_element(By.LINK_TEXT, "Cancel the appointment"), "Cancel appointment")
    step("confirm the cancellation")
    go(driver, driver.find_element(By.XPATH, "//button[.='Yes, cancel it']"), "Appointment")
    assert "is cancelled" in driver.page_source
    step("cancelled")
    with front_desk.services.sessions() as db:
        assert db.get(Appointment, appointment.id).status == AppointmentStatus.CANCELLED

    # The week of Dr. Okafor, then sign out.
    driver.get(f"{url}/portal/week?date=2026-03-09&which=okafor")
    wait(driver, lambda d: "Week of" in heading(d))
    step("the week")
    go(driver, driver.find_element(By.XPATH, "//button[.='Sign out']"), "Sign in")
    assert "You are signed out." in driver.page_source
    step("signed out")
    driver.get(f"{url}/portal/")
    wait(driver, lambda d: heading(d) == "Sign in")
