"""The merchant's staff read the admin in Simplified Chinese; English stays available."""

import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import translation

OUR_APPS = ("wxbackend", "officialaccount", "catalog", "miniprogram_api", "orders", "payments", "notifications")
CJK = re.compile(r"[\u4e00-\u9fff]")
ALLOWED_LATIN = {"SKU", "SKUs"}


def test_every_model_and_app_of_ours_has_a_chinese_name():
    untranslated = []
    with translation.override("zh-hans"):
        for label in OUR_APPS:
            config = apps.get_app_config(label)
            names = [str(config.verbose_name)] + [
                str(m._meta.verbose_name_plural) for m in config.get_models()
            ]
            untranslated += [f"{label}: {n}" for n in names if not CJK.search(n) and n not in ALLOWED_LATIN
                             and n != label]
    assert untranslated == []


@pytest.mark.django_db
def test_admin_index_is_chinese_by_default_and_english_on_request(client):
    admin = get_user_model().objects.create_superuser("ops", "ops@example.com", "correct-horse-42")
    client.force_login(admin)
    chinese = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "商品目录" in chinese and "收货地址" in chinese and "公众号" in chinese
    english = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Catalog" in english and "Addresses" in english
