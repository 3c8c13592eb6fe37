"""Browser tests: the real app served over HTTP on 127.0.0.1 in a thread, driven by headless
Chromium through Selenium.

Chromium and its driver are Debian's (`apt-get install chromium chromium-driver`: /usr/bin/chromium
and /usr/bin/chromedriver; `.ci/run` installs them when missing). Without them the tests skip
and say why; with `REQUIRE_BROWSER=1` (as `.ci/run` sets) they fail instead.

- `live_app`: the app as tests/e2e builds it (SQLite in tmp_path, a throwaway key, the demo
  clinic, the test's `clock`), served as tests/e2e/test_sms_e2e.py serves it (werkzeug's
  `make_server` on a free port, in a thread).
- `browser`: headless Chromium, `window_size` big (a phone, 390 x 844, unless a test
  parametrizes `window_size`); the test fails on any error in the page's console (a script
  error, or something the Content-Security-Policy blocked), but the browser's own request for
  a /favicon.ico the app does not have.
- `shots`: `shots("step")` saves tests/browser/screenshots/<test name>/NN-step.png (not
  committed); a failed test gets a last one.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from werkzeug.serving import make_server

from app import create_app, services_of
from bot.services import Services
from bot.settings import Settings
from tests.clock import Clock

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)
SCREENSHOTS = Path(__file__).parent / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveApp:
    app: Flask
    services: Services
    clock: Clock
    url: str


@pytest.fixture
def live_app(tmp_path, clock) -> Iterator[LiveApp]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'browser.db'}",
        log_dir=tmp_path / "logs",
        encryption_keys=(Fernet.generate_key().decode(),),
        secret_key_file=tmp_path / "secret.key",
    )
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield LiveApp(app, services_of(app), clock, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        services_of(app).engine.dispose()


@pytest.fixture
def window_size() -> tuple[int, int]:
    """The browser's viewport: a phone's. A test parametrizes it for another size."""
    return PHONE


@pytest.fixture
def browser(window_size) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        _unavailable(f"{' and '.join(missing)} missing (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -r requirements-dev.txt)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={window_size[0]},{window_size[1]}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    except WebDriverException as exc:
        _unavailable(f"Chromium did not start ({exc.msg or type(exc).__name__})")
    try:
        # The viewport itself, whatever the window around it takes.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": window_size[0],
                "height": window_size[1],
                "deviceScaleFactor": 1,
                "mobile": window_size[0] < 600,
            },
        )
        # The clinic's clock, as a patient near it reads the times of its texts.
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
        driver.set_script_timeout(10)
        yield driver
        errors = [
            entry["message"]
            for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
        ]
        assert errors == [], "errors in the page's console"
    finally:
        driver.quit()


class Screenshots:
    """Numbered screenshots of one test, in tests/browser/screenshots/<test name>/."""

    def __init__(self, driver: Any, folder: Path):
        self.driver, self.folder, self.count = driver, folder, 0

    def __call__(self, step: str) -> Path:
        self.count += 1
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def shots(request, browser) -> Iterator[Screenshots]:
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    screenshots = Screenshots(browser, folder)
    yield screenshots
    if request.node.stash.get(_FAILED, False):
        screenshots("failed")
