"""The merchant's staff log in to the admin in a real browser and see it in Chinese."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.browser


def test_staff_log_in_and_see_the_chinese_back_office(browser_page, live_server):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")
    page = browser_page
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "correct-horse-42")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "运营管理" in page.content()
    assert page.locator("#user-tools").inner_text().startswith("欢迎")


def test_a_wrong_password_is_refused(browser_page, live_server):
    get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "wrong")
    page.click("input[type=submit]")
    page.locator(".errornote").wait_for(state="visible")  # after the form posted back
