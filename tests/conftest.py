"""Suite-wide fixtures: a clean cache per test, in-process Celery unless a test asks for a
real worker, and PostgreSQL-only tests that skip (with a reason) only outside CI."""

import os

import pytest
from django.core.cache import cache
from django.db import connection

from wxbackend.celery import app as celery_app

pytest_plugins = ["tests.wechat_fixtures", "tests.celery_worker", "tests.api_fixtures", "tests.prodrun"]

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Tasks run in-process (and raise) unless the test is marked `real_worker`."""
    if request.node.get_closest_marker("real_worker"):
        yield
        return
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("CI must run PostgreSQL-only tests: set DATABASE_URL to PostgreSQL")
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL (CI always does)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test (`item.rep_call`): the browser fixture takes a
    screenshot when the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
