"""The landing page at `/` and the simulator console's page: what a newcomer opening
`make run` sees, with debug on and off, and nothing loaded from another host."""

import re

import pytest

pytestmark = pytest.mark.django_db


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', html))


def _external(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', html)


def test_the_landing_page_links_admin_docs_console_and_probes(client, settings):
    settings.WECHAT_SIMULATOR_ENABLED = True

    page = client.get("/")

    assert page.status_code == 200
    html = page.content.decode()
    assert {"/admin/", "/api/v1/docs/", "/api/v1/schema/", "/healthz", "/readyz", "/__sim__/console/"} <= _links(html)
    assert "商家后台" in html  # the admin speaks Chinese, and so does its front door
    assert _external(html) == []
    for link in ("/healthz", "/api/v1/docs/", "/admin/"):
        assert client.get(link, follow=True).status_code == 200


def test_with_debug_off_the_landing_page_serves_without_the_console(client, settings):
    settings.DEBUG = False
    settings.WECHAT_SIMULATOR_ENABLED = False

    page = client.get("/")

    assert page.status_code == 200
    assert "/__sim__/" not in page.content.decode()
    assert client.get("/__sim__/console/").status_code == 404


def test_the_landing_page_speaks_english_to_an_english_browser(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert "Merchant back office" in page.content.decode()


def test_the_console_page_and_its_script_load_from_this_server(client, settings):
    settings.WECHAT_SIMULATOR_ENABLED = True

    page = client.get("/__sim__/console/")
    script = client.get("/__sim__/console/console.js")

    assert page.status_code == 200
    html = page.content.decode()
    assert '<script src="/__sim__/console/console.js">' in html and _external(html) == []
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert b"auth/login" in b"".join(script.streaming_content)
