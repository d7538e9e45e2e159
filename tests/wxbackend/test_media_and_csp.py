"""Product images load with debug off (the test client runs with DEBUG False), only public
uploads are served, every page forbids other hosts through its Content-Security-Policy, and
MEDIA_STORAGE=s3 keeps uploads in an S3-compatible bucket (moto: no network)."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from catalog.models import Product
from tests.factories import ProductFactory, SkuFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_product_image_loads_with_debug_off_from_the_api_url(client, settings):
    assert settings.DEBUG is False
    product = SkuFactory(product__title="亚麻围裙").product
    cover_url = client.get(f"/api/v1/products/{product.pk}/").json()["cover_url"]
    assert cover_url.startswith("http://testserver/media/products/covers/")
    image = client.get(cover_url.removeprefix("http://testserver"))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == product.cover.read()
    assert image["Cache-Control"] == "public, max-age=86400"
    assert "sandbox" in image["Content-Security-Policy"]


@pytest.mark.django_db
def test_only_public_uploads_are_served(client, settings):
    private = Path(settings.MEDIA_ROOT) / "officialaccount/media/image/1-secret.jpg"
    private.parent.mkdir(parents=True)
    private.write_bytes(b"\xff\xd8 a follower's photo")
    assert client.get("/media/officialaccount/media/image/1-secret.jpg").status_code == 404
    assert client.get("/media/products/../officialaccount/media/image/1-secret.jpg").status_code == 404
    assert client.get("/media/products/covers/none.png").status_code == 404
    assert client.post("/media/products/covers/none.png").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/v1/docs/", "/api/v1/redoc/", "/no-such-page/"])
def test_every_page_forbids_other_hosts(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no other host
    assert directives["frame-ancestors"] == "'none'"
    for value in directives.values():
        assert "http" not in value and "*" not in value


def _settings_with(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MEDIA_"))}
    code = ("import json, django; from django.conf import settings; django.setup(); "
            "print(json.dumps({'storage': settings.STORAGES['default'], 'origin': settings.MEDIA_ORIGIN}))")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**base, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "wxbackend.settings", **env})


def test_s3_storage_is_configured_from_the_environment_and_allowed_by_the_policy():
    import json

    result = _settings_with({
        "MEDIA_STORAGE": "s3", "MEDIA_S3_BUCKET": "shop-1250000000",
        "MEDIA_S3_ENDPOINT_URL": "https://cos.ap-shanghai.myqcloud.com", "MEDIA_S3_REGION": "ap-shanghai",
        "MEDIA_S3_ACCESS_KEY_ID": "AKID", "MEDIA_S3_SECRET_ACCESS_KEY": "secret",
    })
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["storage"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["storage"]["OPTIONS"]["bucket_name"] == "shop-1250000000"
    assert config["origin"] == "https://shop-1250000000.cos.ap-shanghai.myqcloud.com"

    missing = _settings_with({"MEDIA_STORAGE": "s3"})
    assert missing.returncode != 0
    assert "MEDIA_S3_BUCKET, MEDIA_S3_ACCESS_KEY_ID, MEDIA_S3_SECRET_ACCESS_KEY" in missing.stderr


S3_STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "shop-media", "region_name": "us-east-1", "access_key": "testing",
                    "secret_key": "testing", "querystring_auth": False, "file_overwrite": False},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@pytest.mark.django_db
def test_uploads_live_in_the_bucket_with_media_storage_s3(client, monkeypatch):
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws(), override_settings(STORAGES=S3_STORAGES, MEDIA_STORAGE="s3"):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="shop-media")
        product = ProductFactory(title="藤编收纳篮", cover=None)
        product.cover.save("basket.png", ContentFile(b"\x89PNG fake"), save=True)
        SkuFactory(product=product)

        key = Product.objects.get(pk=product.pk).cover.name
        assert key.startswith("products/covers/basket")
        assert s3.get_object(Bucket="shop-media", Key=key)["Body"].read() == b"\x89PNG fake"
        cover_url = client.get(f"/api/v1/products/{product.pk}/").json()["cover_url"]
        assert cover_url == f"https://shop-media.s3.amazonaws.com/{key}"
        # The app serves no copy of its own: the bucket is the one place images live.
        assert client.get(f"/media/{key}").status_code == 404
