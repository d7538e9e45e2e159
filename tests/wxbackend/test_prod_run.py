"""`make prod` (bin/prod) on a fresh machine: debug off behind gunicorn, WhiteNoise serving
static files, product images loading from their absolute API URLs, the API docs served from
our own files, a worker running tasks; in a browser with no outside network, every admin page,
a product image and both API docs; a graceful restart that drops no request, and Ctrl-C
stopping all three processes. One production run serves the module's tests, in order."""

import os
import signal
import subprocess
import threading
import time

import pytest
import requests
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from tests.browser.conftest import admin_login, browser_page  # noqa: F401 - the fixture
from tests.celery_worker import wait_for
from tests.factories import SkuFactory
from wxbackend.models import OutboxItem
from wxbackend.outbox import outbox_put
from wxbackend.tasks import worker_check_task

pytestmark = [pytest.mark.postgres, pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_of_the_run(production_run):
    """Uploads made by the test land where the production run serves them from."""
    with override_settings(MEDIA_ROOT=production_run.media_root):
        yield


def test_production_run_serves_with_debug_off(production_run):
    url = production_run.url
    env_file = production_run.log.parent / "prod.env"
    assert "DJANGO_SECRET_KEY=" in env_file.read_text()
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"  # secrets: owner only

    ready = requests.get(f"{url}/readyz", timeout=5).json()
    assert ready["status"] == "ok"
    assert {c["backend"] for c in ready["checks"].values()} == {"postgresql", "redis"}

    # Debug is off: an unknown page is the plain 404, never the debug page listing URLs.
    missing = requests.get(f"{url}/no-such-page/", timeout=5)
    assert missing.status_code == 404 and "URLconf" not in missing.text

    # WhiteNoise serves collected static files, compressed, with the CSP on pages.
    css = requests.get(f"{url}/static/admin/css/base.css", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert css.status_code == 200 and css.headers["Content-Encoding"] == "gzip"
    login = requests.get(f"{url}/admin/login/", timeout=5)
    assert login.status_code == 200 and "default-src 'self'" in login.headers["Content-Security-Policy"]

    # A product image loads from the absolute URL the API gives.
    product = SkuFactory(product__title="竹纤维毛巾").product
    detail = requests.get(f"{url}/api/v1/products/{product.pk}/", timeout=5).json()
    assert detail["cover_url"].startswith(f"{url}/media/products/covers/")
    image = requests.get(detail["cover_url"], timeout=5)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.content == product.cover.read()
    # Other uploads (a follower's photo) are not public.
    assert requests.get(f"{url}/media/officialaccount/media/image/x.jpg", timeout=5).status_code == 404

    # The API docs: Swagger UI and Redoc, every script from our own origin.
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        body = requests.get(url + page, timeout=5).text
        assert "<script src=\"/" in body and "https://" not in body.split("</head>")[0]
    assert requests.get(f"{url}/api/v1/docs/?script=", timeout=5).headers["Content-Type"].startswith(
        "application/javascript")

    # The worker started by bin/prod runs a side effect end to end.
    with transaction.atomic():
        outbox_put(task=worker_check_task, args=["prod-run"], key="prod-run")
    wait_for(lambda: OutboxItem.objects.filter(key="prod-run", status=OutboxItem.Status.DONE).exists(),
             timeout=30)


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


def _loads(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{url}: {response.status}"


@pytest.mark.browser
def test_every_page_loads_offline_in_the_production_run(browser_page, production_run):  # noqa: F811
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


def test_graceful_restart_drops_no_request_and_ctrl_c_stops_all(production_run):
    url = production_run.url
    failures: list = []
    statuses: list[int] = []
    slowest = [0.0]
    stop = threading.Event()

    def hammer() -> None:
        session = requests.Session()
        while not stop.is_set():
            started = time.monotonic()
            try:
                # New workers import Django before they answer: a request may wait in the
                # socket's backlog meanwhile, but none is refused or dropped.
                statuses.append(session.get(f"{url}/healthz", timeout=30).status_code)
            except requests.RequestException as exc:
                failures.append(repr(exc))
            slowest[0] = max(slowest[0], time.monotonic() - started)
            time.sleep(0.02)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    master = production_run.gunicorn_master()
    os.kill(master, signal.SIGHUP)  # new workers, new code; the old ones finish first
    time.sleep(6)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == [] and set(statuses) == {200}
    assert len(statuses) > 50
    print(f"slowest request across the restart: {slowest[0]:.2f} s")
    assert production_run.gunicorn_master() == master  # the same master and socket

    children = subprocess.run(["pgrep", "-s", str(production_run.process.pid)], capture_output=True,
                              text=True, check=False).stdout.split()
    assert len(children) >= 4  # bin/prod, gunicorn (+ workers), celery worker, beat
    production_run.process.send_signal(signal.SIGINT)
    assert production_run.process.wait(40) == 0
    left = subprocess.run(["pgrep", "-s", str(production_run.process.pid)], capture_output=True,
                          text=True, check=False).stdout.split()
    assert left == [], "processes left running after Ctrl-C"
