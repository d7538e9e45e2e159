"""Every page of ours loads with no outside network, with debug off behind the production
command (`make prod`): the whole admin (each list and add page, the dashboard), a product
image in the admin and from its API URL, and the API docs (Swagger UI and Redoc really
render: their scripts come from our own static files and run under the Content-Security-
Policy). With debug on, the landing page, the simulator and its console do too."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.browser.conftest import admin_login
from tests.factories import SkuFactory

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.real_worker,
              pytest.mark.django_db(transaction=True)]


def _admin_pages() -> list[str]:
    pages = ["/admin/"]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission.__func__ is admin.ModelAdmin.has_add_permission:
            pages.append(reverse("admin:{}_{}_add".format(*info)))
    return pages


def _loads(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"


def test_every_page_loads_offline_in_the_production_run(browser_page, production_run):
    url = production_run.url
    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")
    product = SkuFactory(product__title="手工粗陶茶杯").product
    page = browser_page
    admin_login(page, url)
    assert page.locator("#dashboard").is_visible()

    pages = _admin_pages()
    for path in pages:
        _loads(page, url + path)
    _loads(page, f"{url}/admin/catalog/product/{product.pk}/change/")
    _loads(page, f"{url}/admin/catalog/product/")
    cover = page.locator("#result_list img").first
    assert cover.evaluate("img => img.complete && img.naturalWidth") > 0, "the product image did not load"

    _loads(page, f"{url}/api/v1/docs/")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "wxbackend mini-program API" in page.locator(".swagger-ui .info .title").inner_text()
    _loads(page, f"{url}/api/v1/redoc/")
    page.locator("redoc h1, [role=main] h1, h1").first.wait_for()
    assert "wxbackend mini-program API" in page.locator("h1").first.inner_text()
    print(f"\n{len(pages) + 4} pages loaded offline under the production run")


def test_the_development_pages_load_offline(browser_page, live_server):
    page = browser_page
    for path in ("/", "/__sim__/", "/__sim__/console/", "/api/v1/docs/", "/api/v1/redoc/"):
        _loads(page, live_server.url + path)
    page.goto(live_server.url + "/__sim__/console/")
    page.wait_for_load_state("networkidle")
