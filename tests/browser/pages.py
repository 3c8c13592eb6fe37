"""What the portal's browser tests share (every test_*_browser.py):
the window sizes they run at, waiting for a page change, the page's heading, and the check that
nothing overflows the screen sideways.

Import it after the test module's `pytest.importorskip("selenium")`: it needs selenium.
"""

from __future__ import annotations

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from scheduler import staff_users

DESKTOP, PHONE = (1280, 900), (390, 844)  # window sizes (conftest: a phone by default)

WAIT = 10

# How far the page reaches past the right edge of the screen (0: nothing overflows). A phone's
# browser widens its layout viewport to what overflows, so the screen's width is the measure.
OVERFLOW = "return document.documentElement.scrollWidth - arguments[0];"


def wait(driver, condition, timeout=WAIT):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def heading(driver) -> str:
    """The page's h1, or "" while a page is being replaced."""
    try:
        return driver.find_element(By.TAG_NAME, "h1").text
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


# The old page is marked before a click; the next page is there once the mark is gone.
MARK = "document.documentElement.dataset.leaving = '1';"
ARRIVED = (
    "return document.documentElement.dataset.leaving !== '1' && document.readyState === 'complete';"
)


def go(driver, click, expect: str):
    """Click (a link or a button), wait for the next page and for its heading to hold `expect`."""
    leave(driver, click.click, expect)


def leave(driver, act, expect: str):
    """Do what leaves the page, then wait for the next one and for its heading to hold `expect`.
    While the browser swaps documents a query can fail in any of several ways (a stale element,
    an inspector error): those mean "not yet", so the wait asks again."""
    driver.execute_script(MARK)
    act()
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(ARRIVED) and expect in heading(d)
    )


def fits(driver, width):
    assert driver.execute_script(OVERFLOW, width) <= 0, f"the page overflows: {driver.title}"


PASSWORD = "violet-lantern-orbit-42"


def add_desk(db, services):
    """The staff login "desk" (password `PASSWORD`), in the live app's database."""
    user = staff_users.add_user(
        db,
        None,
        "staff",
        added_by="tests",
        now=services.clock(),
        username="desk",
        password=PASSWORD,
    )
    db.flush()
    return user
