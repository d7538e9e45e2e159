"""Staff who may only view menus and QR scenes cannot change what WeChat shows: pushing the
menu and creating QR codes need the change permission."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from officialaccount.models import Menu, MenuButton, QrScene

pytestmark = pytest.mark.django_db


def _staff_client(client, *codenames: str):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-123456-long", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="officialaccount", codename__in=codenames)
    )
    client.force_login(user)
    return client


def _menu() -> Menu:
    menu = Menu.objects.create(name="主菜单")
    MenuButton.objects.create(menu=menu, name="官网", kind="view", url="https://example.com/", position=0)
    return menu


def test_view_only_staff_cannot_push_the_menu(client, wechat_sim):
    menu = _menu()
    staff = _staff_client(client, "view_menu")
    url = reverse("admin:officialaccount_menu_changelist")
    assert 'value="push"' not in staff.get(url).content.decode()
    staff.post(url, {"action": "push", "_selected_action": [menu.pk]})
    assert wechat_sim.calls("cgi-bin/menu/create") == []
    menu.refresh_from_db()
    assert menu.pushed_at is None


def test_staff_with_change_permission_push_the_menu(client, wechat_sim):
    menu = _menu()
    staff = _staff_client(client, "view_menu", "change_menu")
    staff.post(reverse("admin:officialaccount_menu_changelist"), {"action": "push", "_selected_action": [menu.pk]})
    assert [c["verdict"] for c in wechat_sim.calls("cgi-bin/menu/create")] == ["ok"]


def test_view_only_staff_cannot_create_qr_codes(client, wechat_sim):
    scene = QrScene.objects.create(name="海报", scene="poster")
    staff = _staff_client(client, "view_qrscene")
    url = reverse("admin:officialaccount_qrscene_changelist")
    assert 'value="create_codes"' not in staff.get(url).content.decode()
    staff.post(url, {"action": "create_codes", "_selected_action": [scene.pk]})
    assert wechat_sim.calls("cgi-bin/qrcode/create") == []
    scene.refresh_from_db()
    assert scene.ticket == ""


def test_staff_with_change_permission_create_qr_codes(client, wechat_sim):
    scene = QrScene.objects.create(name="海报", scene="poster")
    staff = _staff_client(client, "view_qrscene", "change_qrscene")
    staff.post(reverse("admin:officialaccount_qrscene_changelist"),
               {"action": "create_codes", "_selected_action": [scene.pk]})
    scene.refresh_from_db()
    assert scene.ticket and len(wechat_sim.calls("cgi-bin/qrcode/create")) == 1
