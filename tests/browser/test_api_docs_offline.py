"""/api/docs/ draws the till API's operations from the project's own files: Swagger UI comes
from drf-spectacular-sidecar (pinned), and no request leaves the machine."""

from urllib.parse import urlsplit

LOCAL = {"localhost", "127.0.0.1", "[::1]", "::1"}


def test_the_api_docs_draw_every_operation_with_no_request_leaving_the_machine(browser):
    attempted = []

    def route(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL:
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    browser.route("**/*", route)
    page = browser.new_page()
    page.goto(f"{browser.base_url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)

    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/sales" in paths and "/api/v1/members/lookup" in paths
    assert len(paths) >= 10
    assert page.locator(".information-container .title").inner_text().startswith(
        "Chain loyalty till API"
    )
    scripts = page.eval_on_selector_all("script[src], link[href]",
                                        "els => els.map(e => e.src || e.href)")  # fmt: skip
    assert all(urlsplit(url).hostname in LOCAL for url in scripts), scripts
    assert attempted == [], f"requests that tried to leave the machine: {attempted}"
