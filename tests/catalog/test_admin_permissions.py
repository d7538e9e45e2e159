"""Only staff allowed to change SKUs may import them, and only staff allowed to view them may
export them: CSV import is a bulk write path past the change form."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Sku
from tests.factories import SkuFactory

pytestmark = pytest.mark.django_db


def _staff(client, *codenames: str):
    user = get_user_model().objects.create_user("clerk_" + "_".join(codenames), "clerk@example.com", "pw-123456-long", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))
    client.force_login(user)
    return client


def _csv_format(client, url: str) -> str:
    superuser = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(superuser)
    page = client.get(url).content.decode()
    client.logout()
    return re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)


def _import_price(client, sku, csv_format: str, price_fen: int):
    csv_text = (
        "code,product_id,attributes,price_fen,original_price_fen,stock\n"
        f'{sku.code},{sku.product_id},"{{""颜色"": ""红""}}",{price_fen},,{sku.stock}\n'
    )
    response = client.post("/admin/catalog/sku/import/", {
        "format": csv_format,
        "import_file": SimpleUploadedFile("import.csv", csv_text.encode(), content_type="text/csv"),
    })
    if response.status_code != 200:
        return response
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', response.content.decode()))
    fields.pop("csrfmiddlewaretoken", None)
    return client.post("/admin/catalog/sku/process_import/", fields)


@pytest.mark.parametrize("codenames", [(), ("view_sku",), ("view_sku", "add_sku")])
def test_staff_without_change_permission_cannot_import_prices(client, codenames):
    sku = SkuFactory(price_fen=12900, attributes={"颜色": "红"})
    csv_format = _csv_format(client, "/admin/catalog/sku/import/")
    clerk = _staff(client, *codenames)
    assert clerk.get("/admin/catalog/sku/import/").status_code == 403
    assert _import_price(clerk, sku, csv_format, 1).status_code == 403
    assert clerk.post("/admin/catalog/sku/process_import/", {"format": csv_format}).status_code == 403
    assert Sku.objects.get(pk=sku.pk).price_fen == 12900


def test_staff_with_change_permission_imports_prices(client):
    sku = SkuFactory(price_fen=12900, attributes={"颜色": "红"})
    csv_format = _csv_format(client, "/admin/catalog/sku/import/")
    clerk = _staff(client, "view_sku", "change_sku")
    assert _import_price(clerk, sku, csv_format, 9900).status_code == 302
    assert Sku.objects.get(pk=sku.pk).price_fen == 9900


def test_export_needs_the_view_permission(client):
    SkuFactory()
    csv_format = _csv_format(client, "/admin/catalog/sku/export/")
    clerk = _staff(client, "view_product")
    assert clerk.get("/admin/catalog/sku/export/").status_code == 403
    assert clerk.post("/admin/catalog/sku/export/", {"format": csv_format, "skuresource_code": "on"}).status_code == 403
    client.logout()
    clerk = _staff(client, "view_sku")
    assert clerk.get("/admin/catalog/sku/export/").status_code == 200
