"""With debug on, the landing page, the simulator and its console load with no outside
network. (With debug off, behind the production command, every admin page, a product image
and the API docs: tests/wxbackend/test_prod_run.py.)"""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _loads(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"


def test_the_development_pages_load_offline(browser_page, live_server):
    page = browser_page
    for path in ("/", "/__sim__/", "/__sim__/console/", "/api/v1/docs/", "/api/v1/redoc/"):
        _loads(page, live_server.url + path)
    page.goto(live_server.url + "/__sim__/console/")
    page.wait_for_load_state("networkidle")
