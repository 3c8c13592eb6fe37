"""The web chat as a person uses it, in headless Chromium: on a phone, greeted, books a visit by
tapping and typing, reloads, gets a reminder text from the clinic and answers it; on a desktop,
the clinic's texts beside the chat. Screenshots of each step in tests/browser/screenshots/."""

from __future__ import annotations

import os

import pytest

if os.environ.get("REQUIRE_BROWSER") != "1":  # required: a missing selenium fails the import
    pytest.importorskip("selenium", reason="selenium is not installed (requirements-dev.txt)")

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from app import job_runner
from bot.messages import OutboundMessage

WAIT = 10  # seconds; the outbox panel polls every 5
DESKTOP = (1280, 900)  # the window_size of the desktop test (conftest: a phone otherwise)

# Every line of the conversation and every option, as the page shows them: what a reload must
# bring back unchanged.
SNAPSHOT = """
return Array.from(document.querySelectorAll("#conversation > li"), (li) => ({
  kind: li.className,
  text: li.firstChild && li.firstChild.nextSibling ? li.firstChild.nextSibling.textContent : "",
  options: Array.from(li.querySelectorAll(".options button"),
                      (b) => [b.textContent, b.disabled, b.classList.contains("chosen")]),
}));
"""

# Where the message box is, against the viewport, and what is drawn at its middle.
INPUT_PLACE = """
const input = document.getElementById("message");
const r = input.getBoundingClientRect();
const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
const last = document.querySelector("#conversation > li:last-child");
const composer = document.querySelector(".composer").getBoundingClientRect();
return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
        width: window.innerWidth, height: window.innerHeight, onTop: top === input,
        lastBottom: last ? last.getBoundingClientRect().bottom : null, composerTop: composer.top,
        pageWidth: document.documentElement.scrollWidth};
"""


def wait(driver, condition, timeout=WAIT):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def visible(driver, css):
    return [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def replies(driver):
    """The clinic's lines, read in one go (a line may be redrawn while it is read)."""
    return driver.execute_script(
        'return Array.from(document.querySelectorAll("#conversation > li.bot"), (li) => li.innerText)'
    )


def answered(driver, act):
    """Do `act` (a tap or a typed message) and wait until the clinic has answered it."""
    before = len(driver.find_elements(By.CSS_SELECTOR, "#conversation > li.you"))
    act()
    wait(
        driver,
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "#conversation > li.you")) == before + 1
            and not d.find_elements(By.CSS_SELECTOR, "#conversation > li.pending")
        ),
    )
    return replies(driver)[-1]


def type_message(driver, text):
    box = driver.find_element(By.ID, "message")
    return answered(driver, lambda: box.send_keys(text, Keys.ENTER))


def tap(driver, css, starting):
    [button] = [b for b in visible(driver, css) if b.text.startswith(starting)]
    return answered(driver, button.click)


def option_groups(driver):
    return [
        [(b.text, b.is_enabled(), "chosen" in b.get_attribute("class")) for b in group]
        for group in (
            g.find_elements(By.TAG_NAME, "button")
            for g in driver.find_elements(By.CSS_SELECTOR, "#conversation .options")
        )
    ]


def test_a_patient_on_a_phone_books_reloads_and_answers_a_reminder(browser, live_app, shots):
    browser.get(live_app.url + "/")
    wait(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    assert browser.execute_script("return window.innerWidth") == 390

    # An empty chat greets and says what to try; the clinic's texts have a panel of their own.
    greeting = browser.find_element(By.CSS_SELECTOR, "#welcome .greeting")
    assert greeting.is_displayed() and "book, move or cancel a visit" in greeting.text
    assert [b.text for b in visible(browser, "#suggestions button")] == [
        "Book a visit",
        "My appointments",
        "Hablo español",
    ]
    panel = browser.find_element(By.ID, "clinic-texts")
    assert panel.find_element(By.TAG_NAME, "h2").text == "Texts from the clinic"
    assert browser.find_element(By.ID, "outbox-empty").text == "No texts yet."
    assert browser.switch_to.active_element == browser.find_element(By.ID, "message")
    shots("greeting")

    # A fictional number of the person's choosing.
    phone = browser.find_element(By.ID, "phone")
    phone.clear()
    phone.send_keys("(212) 555-0123")
    browser.find_element(By.CSS_SELECTOR, "#phone-form button").click()
    wait(browser, lambda d: d.find_element(By.ID, "phone").get_attribute("value") == "+12125550123")
    assert "Now chatting" in browser.find_element(By.ID, "phone-status").text
    shots("number chosen")

    assert "full name" in tap(browser, "#suggestions button", "Book a visit")
    assert not visible(browser, "#suggestions")  # the chat has begun
    shots("asked for a name")

    assert "What kind of visit" in type_message(browser, "Jordan Testperson")
    [kinds] = option_groups(browser)
    assert kinds[0][0] == "1. General check-up" and all(enabled for _, enabled, _ in kinds)
    shots("visit kinds offered")

    assert "What day" in tap(browser, "#conversation .options button", "1. General check-up")
    [kinds] = option_groups(browser)
    assert all(not enabled for _, enabled, _ in kinds)  # answered by a tap: closed
    assert [chosen for _, _, chosen in kinds] == [True, False, False, False, False]
    shots("visit kind tapped")

    type_message(browser, "tomorrow at 10am")
    times = option_groups(browser)[-1]
    assert "10:00 AM" in times[0][0] and all(enabled for _, enabled, _ in times)
    shots("times offered")

    booked = type_message(browser, "1")
    assert "You're booked" in booked
    groups = option_groups(browser)
    assert all(not enabled for group in groups for _, enabled, _ in group)  # typed: closed too
    assert [chosen for _, _, chosen in groups[-1]] == [True] + [False] * (len(groups[-1]) - 1)
    shots("booked")

    # A reload shows the same conversation again, answered options still closed.
    before = browser.execute_script(SNAPSHOT)
    browser.refresh()
    wait(browser, lambda d: len(d.execute_script(SNAPSHOT)) == len(before))
    assert browser.execute_script(SNAPSHOT) == before
    assert not visible(browser, "#suggestions")
    shots("after reload")

    # The reminder, a day before the visit, goes to the outbox: the panel shows it.
    live_app.clock.advance(hours=1, minutes=1)
    job_runner(live_app.services, in_process=True).send_reminders()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#outbox li"), timeout=WAIT)
    [text] = browser.find_elements(By.CSS_SELECTOR, "#outbox li")
    assert text.find_element(By.CSS_SELECTOR, ".kind").text == "Reminder"
    assert "Reply C to confirm" in text.find_element(By.CSS_SELECTOR, ".body").text
    assert not browser.find_element(By.ID, "outbox-empty").is_displayed()
    assert not browser.find_elements(By.CSS_SELECTOR, "#conversation li.text")  # not in the chat
    new_texts = browser.find_element(By.ID, "new-texts")
    wait(browser, lambda d: new_texts.is_displayed())  # the panel is scrolled out of view
    assert new_texts.text == "1 new text from the clinic (show)"
    place = browser.execute_script(INPUT_PLACE)
    assert place["lastBottom"] <= place["composerTop"], place  # the notice covers no line
    shots("reminder arrived")

    new_texts.click()
    wait(browser, lambda d: not new_texts.is_displayed())
    assert browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight",
        browser.find_element(By.ID, "clinic-texts"),
    )
    shots("reminder shown")

    assert "is confirmed" in type_message(browser, "C")
    shots("reminder answered")

    # However long the conversation, the message box stays at the bottom of the screen.
    for _ in range(6):
        type_message(browser, "my appointments")
    for scrolled in ("end", "top"):
        if scrolled == "top":
            browser.execute_script("window.scrollTo(0, 0)")
        place = browser.execute_script(INPUT_PLACE)
        assert 0 <= place["top"] < place["bottom"] <= place["height"], place
        assert place["height"] - place["bottom"] < 60, place  # at the bottom, not mid-screen
        assert place["left"] >= 0 and place["right"] <= place["width"], place
        assert place["onTop"], place  # nothing covers it
        assert place["pageWidth"] <= place["width"], place  # no sideways scrolling
        if scrolled == "end":
            assert place["lastBottom"] <= place["composerTop"], place  # the last line shows
        shots(f"many messages, scrolled to the {scrolled}")


@pytest.mark.parametrize("window_size", [DESKTOP])
def test_on_a_desktop_the_clinic_texts_sit_beside_the_chat(browser, live_app, shots):
    browser.get(live_app.url + "/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#suggestions button"))
    shots("greeting")
    chat = browser.find_element(By.ID, "conversation").rect
    panel = browser.find_element(By.ID, "clinic-texts").rect
    assert panel["x"] >= chat["x"] + chat["width"]  # to its right, not above or below

    spanish = tap(browser, "#suggestions button", "Hablo español")
    assert "español" in spanish
    phone = browser.find_element(By.ID, "phone").get_attribute("value")
    live_app.services.sender.send(
        OutboundMessage("sms", phone, "Se liberó un horario: jue 5 de mar, 10:00.", kind="offer")
    )
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#outbox li"))
    assert browser.find_element(By.CSS_SELECTOR, "#outbox .kind").text == "Waitlist offer"
    assert not browser.find_element(By.ID, "new-texts").is_displayed()  # the panel is in view
    shots("spanish and a waitlist text")

    # Keyboard only: Tab reaches the message box and Send, and the focus can be seen.
    box = browser.find_element(By.ID, "message")
    box.send_keys("mis citas")
    box.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.text == "Send"
    outline = browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", focused)
    assert outline == "solid"  # chat.css's :focus-visible ring
    shots("send button focused")
    answered(browser, lambda: focused.send_keys(Keys.ENTER))
    assert "cita" in replies(browser)[-1].lower()
    shots("answered in spanish")


def test_clinic_texts_from_before_the_page_opened_are_shown_without_a_new_text_notice(
    browser, live_app, shots
):
    live_app.services.sender.send(
        OutboundMessage("sms", "+12125550142", "Reminder: your visit is tomorrow.", kind="reminder")
    )
    browser.get(live_app.url + "/")
    phone = browser.find_element(By.ID, "phone")
    phone.clear()
    phone.send_keys("+1 212 555 0142", Keys.ENTER)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#outbox li"))
    assert "your visit is tomorrow" in browser.find_element(By.CSS_SELECTOR, "#outbox .body").text
    assert not browser.find_element(By.ID, "new-texts").is_displayed()
    shots("earlier text shown")


def test_options_work_from_the_keyboard_and_then_leave_the_focus_in_the_message_box(
    browser, live_app, shots
):
    browser.get(live_app.url + "/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#suggestions button"))
    type_message(browser, "book a checkup tomorrow")
    type_message(browser, "Avery Madeup")
    [times] = option_groups(browser)
    assert len(times) > 1 and all(enabled for _, enabled, _ in times)
    second = browser.find_elements(By.CSS_SELECTOR, "#conversation .options button")[1]
    assert "You're booked" in answered(browser, lambda: second.send_keys(Keys.SPACE))
    [times] = option_groups(browser)
    assert [chosen for _, _, chosen in times] == [False, True] + [False] * (len(times) - 2)
    assert browser.switch_to.active_element == browser.find_element(By.ID, "message")
    shots("booked from the keyboard")
