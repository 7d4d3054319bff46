"""Admin pages in a real browser, for every test folder: Playwright driving Debian's chromium
(bin/services installs it with apt; no browser is downloaded) against pytest-django's live
server. Loaded for the whole suite by tests/conftest.py (`pytest_plugins`).

Every page a test opens fails the test on a console error or an uncaught script error, and a
failing test leaves a screenshot of each of its pages under test-artifacts/screenshots/.
Fixtures: `browser` (a fresh chromium), `login(user)` -> a page logged into the admin, and
`admin_page`, the same as `login` with the page knowing its `base_url`.
"""

import contextlib
import os
import re
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def playwright_driver(monkeypatch):
    """Per test: Playwright's sync API runs an asyncio loop in this thread while it lives, and
    Django refuses ORM calls next to a running loop. The ORM calls a browser test makes between
    its steps are plain synchronous calls, so they are allowed for this test only; the next
    test of the worker finds neither the loop nor the setting."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: bin/services installs it (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver, tmp_path, request, live_server):
    """A fresh chromium (its own user-data dir) whose pages fail the test on console errors."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        locale="zh-CN",
        accept_downloads=True,
        viewport={"width": 1400, "height": 1000},
    )
    context.set_default_timeout(15_000)
    errors = []

    def watch(page):
        page.on(
            "console",
            lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))

    for page in context.pages:
        watch(page)
    context.on("page", watch)
    context.errors = errors
    context.base_url = live_server.url
    yield context
    failed = any(
        getattr(request.node, f"report_{when}", None) is not None
        and getattr(request.node, f"report_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        for n, page in enumerate(context.pages):
            with contextlib.suppress(Exception):  # a crashed page has no screenshot to give
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{n}.png"), full_page=True)
    context.close()
    assert not errors, "console errors:\n" + "\n".join(errors)


@pytest.fixture
def login(browser):
    """Log `user` in through the admin's login form; returns the page."""

    def do(user):
        page = browser.pages[0] if browser.pages else browser.new_page()
        page.goto(f"{browser.base_url}/admin/login/?next=/admin/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{browser.base_url}/admin/")
        return page

    return do


def charts_drawn(page):
    """How many ECharts instances the page holds, once its script has drawn them."""
    page.wait_for_function("document.documentElement.dataset.chartsDrawn !== undefined")
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.report-chart'))
                .filter((el) => echarts.getInstanceByDom(el)).length"""
    )


@pytest.fixture
def admin_page(login, browser):
    """log_in(user) -> a chromium page logged into the admin as `user` through its login form,
    its `base_url` set to the live server's."""

    def log_in(user):
        page = login(user)
        page.base_url = browser.base_url
        return page

    return log_in
