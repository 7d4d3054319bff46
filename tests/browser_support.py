"""Admin pages in a real browser for issue 12's tests: Playwright driving Debian's chromium
(bin/services installs it with apt; no browser is downloaded) against pytest-django's live
server. A page that logs a console error or an uncaught script error fails its test.

Import the fixtures into a test module: `from tests.browser_support import admin_page  # noqa`.
(The suite-wide browser fixtures arrive with the reports work; these stay self-contained so
the two merge without touching each other.)
"""

import os

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
PASSWORD = "pass-word-123"  # tests.factories.UserFactory


@pytest.fixture
def admin_page(monkeypatch, tmp_path, live_server):
    """log_in(user) -> a chromium page logged into the admin as `user` through its login form.

    Playwright's sync API runs an asyncio loop in this thread while it lives; Django refuses
    ORM calls next to a running loop, so this test's plain synchronous ORM calls between
    browser steps are allowed for this test only."""
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: bin/services installs it (apt-get install chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    errors = []
    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            locale="zh-CN",
            accept_downloads=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(15_000)

        def watch(page):
            page.on(
                "console",
                lambda m: errors.append(f"{m.text} {m.location.get('url', '')}")
                if m.type == "error"
                else None,
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        context.on("page", watch)
        for page in context.pages:
            watch(page)

        def log_in(user):
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(f"{live_server.url}/admin/login/?next=/admin/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
            page.base_url = live_server.url
            return page

        yield log_in
        context.close()
    assert not errors, "console errors:\n" + "\n".join(errors)
