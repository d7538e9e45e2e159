"""Playwright against Debian's chromium (`apt-get install chromium`), never a downloaded
browser. Outside CI a machine without chromium skips these tests, saying why.

Every page is loaded with no outside network: the browser may reach 127.0.0.1 and nothing
else; a request anywhere else is refused and fails the test (a page that needs a CDN is
blank in mainland China and offline). A failed test leaves a screenshot of the page in
$BROWSER_SCREENSHOTS (default var/browser-failures/)."""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "var" / "browser-failures"))
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


class OfflinePage:
    """The Playwright page plus what it tried to reach outside 127.0.0.1 and what the
    browser reported as blocked by the Content-Security-Policy."""

    def __init__(self, page):
        self.page = page
        self.outside: list[str] = []
        self.csp_violations: list[str] = []


@pytest.fixture
def browser_page(request):
    if not CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run browser tests: install Debian's chromium")
        pytest.skip("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test itself
    # makes are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        offline = OfflinePage(page)

        def only_local(route):
            if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                offline.outside.append(route.request.url)
                route.abort("blockedbyclient")

        context.route(re.compile(r"^(https?|wss?)://"), only_local)
        page.on("console", lambda message: message.type == "error" and "Content Security Policy" in message.text
                and offline.csp_violations.append(message.text))
        page.set_default_timeout(10_000)
        page.offline = offline
        yield page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / (re.sub(r"[^\w.-]", "_", request.node.nodeid) + ".png")
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failed page: {shot}")
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    assert offline.outside == [], f"pages reached outside 127.0.0.1: {offline.outside}"
    assert offline.csp_violations == [], f"the Content-Security-Policy blocked: {offline.csp_violations}"


def admin_login(page, base_url: str, username: str = "ops", password: str = "correct-horse-42",
                next_path: str = "/admin/") -> None:
    """Log in through the admin's own form (creates nothing: the user must exist)."""
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")
