"""The portal's admin pages as an admin uses them, in headless Chromium, on a desk screen and on a
390 px phone: add a user, change their role, give them a new password, remove them; create an API
token (shown once) and revoke it; search the audit trail by kind and verify its chain; read the
failed reminders. A staff user is refused the admin pages. A screenshot after every step in
tests/browser/screenshots/<test name>/; on every page nothing overflows the screen sideways and
the console stays clean (conftest)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

if os.environ.get("REQUIRE_BROWSER") != "1":  # required: a missing selenium fails the import
    pytest.importorskip("selenium", reason="selenium is not installed (requirements-dev.txt)")

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bot.tools import Caller, SchedulingTools
from scheduler import accounts, staff_users
from scheduler.models import EHR_FAILED, ApiToken, AuditEvent, EhrNotification, Reminder, StaffUser
from scheduler.patients import find_or_create_patient, set_patient_name
from tests.browser.pages import DESKTOP, PHONE, fits, go, heading, leave, wait

ADMIN_PASSWORD = "amber-kettle-nimbus-77"
STAFF_PASSWORD = "violet-lantern-orbit-42"
NEW_USER_PASSWORD = "copper-meadow-quartz-19"
RESET_PASSWORD = "saffron-glacier-harbor-63"


def add_login(services, username: str, role: str, password: str) -> int:
    with services.sessions.begin() as db:
        user = staff_users.add_user(
            db,
            None,
            role,
            added_by="tests",
            now=services.clock(),
            username=username,
            password=password,
        )
        db.flush()
        return user.id


@pytest.fixture
def clinic_admin(live_app):
    """An admin login ("chief"), a staff login ("desk"), and a patient's reminder that failed
    (with one stuck "sending" past its lease), in the live app's database."""
    services = live_app.services
    add_login(services, "chief", "admin", ADMIN_PASSWORD)
    add_login(services, "desk", "staff", STAFF_PASSWORD)
    with services.sessions.begin() as db:
        patient = find_or_create_patient(db, services.vault, "+12125550143", now=services.clock())
        set_patient_name(services.vault, patient, "Ilse Brandt-Okoye")
        db.flush()
        caller = Caller(role="staff", channel="portal", staff_id="desk")
        tools = SchedulingTools(db, services.clinic, services.audit, caller, services.clock())
        appointment = tools.book_appointment(tools.find_slots("checkup", limit=1)[0], patient.id)
        db.query(Reminder).delete()  # the booking's own, pending: not failures
        at = services.clock()
        db.add_all(
            [
                Reminder(
                    kind="reminder",
                    appointment_id=appointment.id,
                    patient_id=patient.id,
                    due_at=at - timedelta(hours=3),
                    status="failed",
                    attempts=3,
                    last_error_code="21610",
                ),
                Reminder(
                    kind="reminder",
                    appointment_id=appointment.id,
                    patient_id=patient.id,
                    due_at=at - timedelta(hours=1),
                    status="sending",
                    attempts=1,
                    lease_owner="worker-1",
                    lease_until=at - timedelta(minutes=1),
                ),
                # The EHR refused the booking's notice for a day; the cancellation waits behind it.
                EhrNotification(
                    appointment_id=appointment.id,
                    event="booked",
                    payload_enc=services.vault.encrypt("{}"),
                    status=EHR_FAILED,
                    attempts=14,
                    created_at=at - timedelta(days=1, hours=2),
                    last_error="http_503",
                    failed_at=at - timedelta(hours=2),
                ),
                EhrNotification(
                    appointment_id=appointment.id,
                    event="cancelled",
                    payload_enc=services.vault.encrypt("{}"),
                    created_at=at - timedelta(hours=20),
                ),
            ]
        )
    return live_app


def sign_in(driver, url: str, username: str, password: str, step):
    """Sign in through the form from the portal's front door; lands on today's schedule."""
    driver.get(f"{url}/portal/")
    wait(driver, lambda d: heading(d) == "Sign in")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    step("sign in")
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"), "2026")


def button(driver, label: str):
    return driver.find_element(By.XPATH, f"//button[normalize-space()='{label}']")


def flashed(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".messages").text


def rows(driver) -> list[str]:
    """The text of each row of the page's table."""
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]


def fact(driver, name: str) -> str:
    """What a page's facts (a <dl>) say of `name`."""
    return driver.find_element(By.XPATH, f"//dl/div[dt='{name}']/dd").text


def shown(driver, element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)


def user_row(services, username: str) -> StaffUser | None:
    with services.sessions() as db:
        return db.query(StaffUser).filter_by(username=username).one_or_none()


@pytest.mark.parametrize("window_size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_runs_the_users_the_tokens_and_the_records(
    clinic_admin, browser, shots, window_size
):
    driver, url, services = browser, clinic_admin.url, clinic_admin.services

    def step(name):
        fits(driver, window_size[0])
        shots(name)

    sign_in(driver, url, "chief", ADMIN_PASSWORD, step)
    assert "(admin)" in driver.find_element(By.CSS_SELECTOR, ".who").text
    go(
        driver,
        driver.find_element(By.CSS_SELECTOR, ".main-nav").find_element(By.LINK_TEXT, "Admin"),
        "Admin",
    )
    assert heading(driver) == "Admin"
    assert [card.text for card in driver.find_elements(By.CSS_SELECTOR, ".cards .card-link")] == [
        "Users",
        "API tokens",
        "Audit trail",
        "Failed reminders",
        "EHR notifications",
    ]
    step("admin home")

    # Users: add one with a login.
    go(
        driver,
        driver.find_element(By.CSS_SELECTOR, ".cards").find_element(By.LINK_TEXT, "Users"),
        "Users",
    )
    assert [row.split()[0] for row in rows(driver)] == ["chief", "desk"]
    step("users")
    driver.find_element(By.ID, "username").send_keys("rowan")
    Select(driver.find_element(By.ID, "role")).select_by_visible_text("Staff")
    driver.find_element(By.ID, "password").send_keys(NEW_USER_PASSWORD)
    shown(driver, button(driver, "Add the user"))
    step("add a user filled")
    go(driver, button(driver, "Add the user"), "Users")
    assert "rowan added as staff." in flashed(driver)
    (listed,) = [row for row in rows(driver) if row.startswith("rowan")]
    assert "staff" in listed.split()
    step("user added")
    added = user_row(services, "rowan")
    assert added is not None and added.role == "staff" and added.added_by == "admin:chief"

    # Their page: make them an admin.
    go(
        driver,
        driver.find_element(By.CSS_SELECTOR, "table.list").find_element(By.LINK_TEXT, "rowan"),
        "rowan",
    )
    assert (fact(driver, "Username"), fact(driver, "Role")) == ("rowan", "staff")
    step("user page")
    Select(driver.find_element(By.ID, "role")).select_by_visible_text("Admin")
    go(driver, button(driver, "Change the role"), "rowan")
    assert "rowan is now admin." in flashed(driver)
    assert fact(driver, "Role") == "admin"
    step("role changed")
    assert user_row(services, "rowan").role == "admin"

    # A new password.
    old_hash = user_row(services, "rowan").password_hash
    box = driver.find_element(By.ID, "password")
    box.send_keys(RESET_PASSWORD)
    shown(driver, box)
    step("new password filled")
    go(driver, button(driver, "Set the new password"), "rowan")
    assert "rowan has a new password and is signed out everywhere." in flashed(driver)
    step("password reset")
    assert user_row(services, "rowan").password_hash != old_hash
    with services.sessions.begin() as db:
        with pytest.raises(accounts.SignInRefused):
            accounts.sign_in(db, "rowan", NEW_USER_PASSWORD, services.clock())
        assert accounts.sign_in(db, "rowan", RESET_PASSWORD, services.clock()).username == "rowan"

    # Remove them, through the confirmation step.
    remove = driver.find_element(By.PARTIAL_LINK_TEXT, "Remove rowan")
    shown(driver, remove)
    step("remove link")
    go(driver, remove, "Remove rowan?")
    step("confirm the removal")
    go(driver, button(driver, "Yes, remove rowan"), "Users")
    assert "rowan was removed" in flashed(driver)
    assert [row.split()[0] for row in rows(driver)] == ["chief", "desk"]
    step("user removed")
    assert user_row(services, "rowan") is None

    # API tokens: one for desk, shown once.
    nav = driver.find_element(By.CSS_SELECTOR, "nav.switch")
    go(driver, nav.find_element(By.LINK_TEXT, "API tokens"), "API tokens")
    assert "No tokens yet." in driver.find_element(By.ID, "content").text
    Select(driver.find_element(By.ID, "user")).select_by_visible_text("desk (staff)")
    driver.find_element(By.ID, "label").send_keys("EHR bridge")
    shown(driver, button(driver, "Create the token"))
    step("create a token")
    go(driver, button(driver, "Create the token"), "The new token")
    assert heading(driver) == "The new token “EHR bridge”"
    assert "Copy it now: it will not be shown again." in driver.find_element(By.ID, "content").text
    secret = driver.find_element(By.ID, "new-token").get_property("value")
    assert secret.startswith("mas_") and len(secret) > 40
    step("token shown once")
    with services.sessions() as db:
        (token,) = db.query(ApiToken).all()
        assert (token.label, token.hint, token.revoked_at) == ("EHR bridge", secret[-4:], None)
        assert db.get(StaffUser, token.user_id).username == "desk"
        assert secret not in (token.digest, token.hint)  # kept only as its fingerprint

    copy = button(driver, "Copy the token")  # shown where the browser can copy
    copy.click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".copy-status").text)
    assert driver.find_element(By.CSS_SELECTOR, ".copy-status").text == (
        "Copied. Paste it where it is needed now."
    )
    step("token copied")

    # Not shown again: not on the list, not after a reload, not with the back button.
    go(driver, driver.find_element(By.PARTIAL_LINK_TEXT, "back to the tokens"), "API tokens")
    assert secret not in driver.page_source
    leave(driver, driver.refresh, "API tokens")
    assert secret not in driver.page_source and secret[4:-4] not in driver.page_source
    (listed,) = rows(driver)
    assert listed.startswith("EHR bridge") and f"…{secret[-4:]}" in listed
    step("token listed without its secret")
    leave(driver, driver.back, "")
    assert secret not in driver.page_source
    step("back button")
    leave(driver, lambda: driver.get(f"{url}/portal/admin/tokens"), "API tokens")

    # Revoke it, through the confirmation step.
    go(driver, driver.find_element(By.CSS_SELECTOR, "a[aria-label='Revoke EHR bridge']"), "Revoke")
    assert heading(driver) == "Revoke the token “EHR bridge”?"
    step("confirm the revocation")
    go(driver, button(driver, "Yes, revoke it"), "API tokens")
    assert "The token “EHR bridge” of desk is now revoked." in flashed(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "a[aria-label='Revoke EHR bridge']")
    step("token revoked")
    with services.sessions() as db:
        assert db.get(ApiToken, token.id).revoked_at is not None
        assert accounts.token_user(db, secret, services.clock()) is None

    # The audit trail, by kind; then verify the chain.
    nav = driver.find_element(By.CSS_SELECTOR, "nav.switch")
    go(driver, nav.find_element(By.LINK_TEXT, "Audit trail"), "Audit trail")
    step("audit trail")
    Select(driver.find_element(By.ID, "audit-kind")).select_by_visible_text("staff_user_added")
    go(driver, button(driver, "Show events"), "Audit trail")
    assert driver.find_element(By.CSS_SELECTOR, "table.list caption").text.startswith("1 event,")
    (event,) = rows(driver)
    assert "staff_user_added" in event and "admin:chief" in event and "username: rowan" in event
    shown(driver, driver.find_element(By.CSS_SELECTOR, "table.list"))
    step("audit events of a kind")
    verify = button(driver, "Verify the chain")
    shown(driver, verify)
    step("verify the chain")
    go(driver, verify, "The audit chain")
    verified = driver.find_element(By.CSS_SELECTOR, ".message-done").text
    assert verified.startswith("OK: the chain is intact.") and "verified" in verified
    step("chain verified")
    with services.sessions() as db:
        changes = [  # the admin's changes, each audited under their name
            (event.kind, event.actor)
            for event in db.query(AuditEvent).order_by(AuditEvent.seq)
            if event.kind.startswith(("staff_user_", "api_token_"))
        ]
        assert changes == [
            (kind, "admin:chief")
            for kind in (
                "staff_user_added",
                "staff_user_role_changed",
                "staff_user_password_reset",
                "staff_user_removed",
                "api_token_created",
                "api_token_revoked",
            )
        ]
        (check,) = db.query(AuditEvent).filter_by(kind="audit_verified").all()
        assert check.detail["ok"] is True

    # Failed reminders: the failed one and the one stuck sending, newest due first.
    nav = driver.find_element(By.CSS_SELECTOR, "nav.switch")
    go(driver, nav.find_element(By.LINK_TEXT, "Failed reminders"), "Failed reminders")
    assert driver.find_element(By.CSS_SELECTOR, "table.list caption").text == (
        "2 in all, newest first."
    )
    stuck, failed = rows(driver)
    assert "stuck sending since" in stuck and "Ilse Brandt-Okoye" in stuck
    assert "failed" in failed and "21610" in failed and "General check-up" in failed
    shown(driver, driver.find_element(By.CSS_SELECTOR, "table.list"))
    step("failed reminders")

    # EHR notifications: the failed one, what waits behind it, and the buttons to send again.
    nav = driver.find_element(By.CSS_SELECTOR, "nav.switch")
    go(driver, nav.find_element(By.LINK_TEXT, "EHR notifications"), "EHR notifications")
    assert "1 waiting to be sent" in driver.find_element(By.CSS_SELECTOR, "main p").text
    (failed,) = rows(driver)
    assert "booked" in failed and "http_503" in failed and "Send #1 again" in failed
    assert driver.find_element(By.CSS_SELECTOR, "form.actions button").text == "Send it again"
    shown(driver, driver.find_element(By.CSS_SELECTOR, "table.list"))
    step("failed ehr notifications")


@pytest.mark.parametrize("window_size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_staff_are_refused_the_admin_pages(clinic_admin, browser, shots, window_size):
    driver, url = browser, clinic_admin.url

    def step(name):
        fits(driver, window_size[0])
        shots(name)

    sign_in(driver, url, "desk", STAFF_PASSWORD, step)
    menu = driver.find_element(By.CSS_SELECTOR, ".main-nav").text
    assert "Patients" in menu and "Admin" not in menu  # no way in from the menu
    step("no admin in the menu")
    for path in ("/portal/admin/", "/portal/admin/users", "/portal/admin/tokens"):
        leave(driver, lambda path=path: driver.get(f"{url}{path}"), "Not allowed")
        message = driver.find_element(By.CSS_SELECTOR, ".message-problem").text
        assert message == "This page is for admins. Ask an admin if you need it."
        assert "Users" not in driver.find_element(By.ID, "content").text
        step(f"refused {path}")
    # The browser logs each refused page's 403; nothing else may be in its console.
    errors = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
    ]
    assert len(errors) == 3 and all("/portal/admin/" in e and " 403 " in e for e in errors), errors
    with clinic_admin.services.sessions() as db:
        assert db.query(ApiToken).count() == 0
