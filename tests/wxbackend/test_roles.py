"""Staff roles: the groups a migration creates, what each may open in the admin (403 for the
wrong role, on model pages and on every custom admin view), and full phone numbers shown only
with a permission, each look recorded."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from miniprogram_api.models import PhoneReveal
from officialaccount.models import Follower, Message
from orders.models import Order
from orders.services import order_create, order_transition
from payments.models import ReconciliationDifference, ReconciliationRun
from tests.factories import AddressFactory, CustomerFactory, SkuFactory
from wxbackend.roles import ROLES, roles_sync

pytestmark = pytest.mark.django_db

CS, OPS, FINANCE = "客服", "运营", "财务"


def _staff(client, group: str):
    user = get_user_model().objects.create_user(f"u_{group}", f"{group}@example.com", "pw-123456-long", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


def _order(*, tel="13712345678", status=None):
    customer = CustomerFactory()
    customer.phone = "13800138000"
    customer.save()
    address = AddressFactory(customer=customer, tel_number=tel)
    order = order_create(customer_id=customer.pk, lines=[(SkuFactory(price_fen=12900).id, 1)], address_id=address.id)
    if status:
        order = order_transition(order_id=order.id, to=status, actor="test")
    return order


def test_the_three_role_groups_exist_with_their_apps():
    perms = {g.name: set(g.permissions.values_list("content_type__app_label", "codename")) for g in Group.objects.all()}
    assert {CS, OPS, FINANCE} <= set(perms)
    assert ("officialaccount", "view_follower") in perms[CS] and ("officialaccount", "view_message") in perms[CS]
    assert ("miniprogram_api", "view_full_phone") in perms[CS]
    assert not any(app in ("catalog", "payments") for app, _ in perms[CS])
    catalog_models = ContentType.objects.filter(app_label="catalog").values_list("model", flat=True)
    assert {("catalog", f"{a}_{m}") for m in catalog_models for a in ("add", "change", "delete", "view")} <= perms[OPS]
    assert ("officialaccount", "change_replyrule") in perms[OPS] and ("officialaccount", "change_menu") in perms[OPS]
    assert ("officialaccount", "view_follower") not in perms[OPS]
    assert ("payments", "change_reconciliationdifference") in perms[FINANCE]
    assert ("orders", "change_refundrequest") in perms[FINANCE]
    assert ("orders", "change_order") not in perms[FINANCE]  # finance does not ship
    assert not any(codename == "view_full_phone" for _, codename in perms[OPS] | perms[FINANCE])


def test_the_inbox_joins_its_role_and_the_sync_restores_removed_permissions():
    """The inbox app, declared by label, has its models' permissions in the customer-service
    group; permissions removed by hand come back on the next sync (run after every migrate)."""
    cs = Group.objects.get(name=CS)
    view = Permission.objects.get(content_type__app_label="inbox", codename="view_conversation")
    cs.permissions.remove(view, Permission.objects.get(codename="view_follower"))
    roles_sync()
    codenames = set(cs.permissions.values_list("codename", flat=True))
    assert {"view_conversation", "change_conversation", "add_cannedreply", "view_follower"} <= codenames
    assert view.group_set.get() == cs
    assert roles_sync() == roles_sync()  # idempotent


def test_roles_are_declared_with_chinese_group_names():
    assert [r.group_name for r in ROLES] == [CS, OPS, FINANCE]


@pytest.mark.parametrize(("group", "url"), [
    (OPS, "/admin/officialaccount/follower/"),
    (OPS, "/admin/officialaccount/message/"),
    (OPS, "/admin/miniprogram_api/customer/"),
    (OPS, "/admin/payments/reconciliationdifference/"),
    (FINANCE, "/admin/officialaccount/follower/"),
    (FINANCE, "/admin/catalog/product/"),
    (FINANCE, "/admin/officialaccount/replyrule/"),
    (FINANCE, "/admin/officialaccount/menu/"),
    (FINANCE, "/admin/notifications/notificationtemplate/"),
    (CS, "/admin/notifications/notificationtemplate/add/"),
    (CS, "/admin/catalog/product/"),
    (CS, "/admin/catalog/product/add/"),
    (CS, "/admin/catalog/sku/import/"),
    (CS, "/admin/officialaccount/replyrule/"),
    (CS, "/admin/officialaccount/menu/"),
    (CS, "/admin/payments/reconciliationrun/"),
    (CS, "/admin/payments/reconciliationdifference/"),
    (CS, "/admin/wxbackend/outboxitem/"),
])
def test_a_model_page_of_another_role_is_forbidden(client, group, url):
    _staff(client, group)
    assert client.get(url).status_code == 403


def test_custom_admin_views_check_the_role(client, wechat_sim):
    follower = Follower.objects.create(openid="o_role_1")
    message = Message.objects.create(direction="in", openid="o_role_1", dedupe_key="m:1", msg_type="image")
    _staff(client, OPS)
    assert client.get(f"/admin/officialaccount/follower/{follower.pk}/conversation/").status_code == 403
    assert client.get(f"/admin/officialaccount/message/{message.pk}/media/").status_code == 403
    client.logout()
    _staff(client, FINANCE)
    assert client.post("/admin/officialaccount/tag/sync/").status_code == 403
    assert wechat_sim.calls("cgi-bin/tags/get") == []
    client.logout()
    _staff(client, CS)
    assert client.get(f"/admin/officialaccount/follower/{follower.pk}/conversation/").status_code == 200
    assert client.post("/admin/officialaccount/tag/sync/").status_code == 403  # CS reads tags only


def test_only_operations_ship_orders(client, wechat_sim):
    order = _order(status=Order.Status.PAID)
    for group in (FINANCE, CS):
        _staff(client, group)
        page = client.get("/admin/orders/order/").content.decode()
        assert 'value="ship"' not in page
        client.post("/admin/orders/order/", {"action": "ship", "_selected_action": [order.pk], "apply": "1",
                                             "carrier": "顺丰", f"tracking_{order.pk}": "SF1"})
        client.logout()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    _staff(client, OPS)
    client.post("/admin/orders/order/", {"action": "ship", "_selected_action": [order.pk], "apply": "1",
                                         "carrier": "顺丰", f"tracking_{order.pk}": "SF1"})
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED


def test_only_finance_resolves_reconciliation_differences(client):
    run = ReconciliationRun.objects.create(day="2026-12-01", status="done", api_version="v3", started_at=timezone.now())
    diff = ReconciliationDifference.objects.create(run=run, kind="missing_ours", out_trade_no="T1")
    _staff(client, OPS)
    response = client.post("/admin/payments/reconciliationdifference/",
                           {"action": "mark_resolved", "_selected_action": [diff.pk]})
    assert response.status_code == 403
    client.logout()
    _staff(client, FINANCE)
    client.post("/admin/payments/reconciliationdifference/", {"action": "mark_resolved", "_selected_action": [diff.pk]})
    diff.refresh_from_db()
    assert diff.is_resolved


# --- full phone numbers ----------------------------------------------------------------------


def test_phones_are_masked_everywhere_by_default(admin_client):
    order = _order(tel="13712345678")
    pages = [
        admin_client.get("/admin/orders/order/").content.decode(),
        admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode(),
        admin_client.get("/admin/orders/address/").content.decode(),
        admin_client.get(f"/admin/orders/address/{order.customer.addresses.get().pk}/change/").content.decode(),
        admin_client.get(f"/admin/miniprogram_api/customer/{order.customer_id}/change/").content.decode(),
    ]
    for page in pages:
        assert "13712345678" not in page and "13800138000" not in page
    assert "137****5678" in pages[0] and "137****5678" in pages[2] and "138****8000" in pages[4]
    assert PhoneReveal.objects.count() == 0


def test_customer_service_reveals_a_number_and_each_look_is_recorded(client):
    order = _order(tel="13712345678")
    user = _staff(client, CS)
    page = client.get(f"/admin/miniprogram_api/customer/{order.customer_id}/phone/").content.decode()
    assert "13800138000" in page
    page = client.get(f"/admin/orders/order/{order.pk}/phone/").content.decode()
    assert "13712345678" in page
    client.get(f"/admin/orders/order/{order.pk}/phone/")
    rows = list(PhoneReveal.objects.order_by("id").values_list("staff_id", "customer_id", "source"))
    assert rows == [(user.pk, order.customer_id, "customer"), (user.pk, order.customer_id, f"order {order.order_no}"),
                    (user.pk, order.customer_id, f"order {order.order_no}")]
    audit = client.get("/admin/miniprogram_api/phonereveal/")
    assert audit.status_code == 403  # the audit is not customer service's to read


@pytest.mark.parametrize("group", [OPS, FINANCE])
def test_staff_without_the_permission_cannot_reveal(client, group):
    order = _order(tel="13712345678")
    _staff(client, group)
    assert client.get(f"/admin/orders/order/{order.pk}/phone/").status_code == 403
    assert client.get(f"/admin/miniprogram_api/customer/{order.customer_id}/phone/").status_code == 403
    assert PhoneReveal.objects.count() == 0


def _export(client) -> str:
    page = client.get("/admin/orders/order/export/").content.decode()
    csv_format = re.search(r'<option value="(\d+)"[^>]*>csv</option>', page).group(1)
    response = client.post("/admin/orders/order/export/", {
        "format": csv_format, "resource": 0, "orderresource_order_no": "on", "orderresource_tel_number": "on"})
    assert response.status_code == 200
    return response.content.decode("utf-8-sig")


def test_the_order_export_masks_phones_unless_allowed_and_records_a_full_one(client):
    order = _order(tel="13712345678")
    _staff(client, FINANCE)
    assert f"{order.order_no},137****5678" in _export(client)
    assert PhoneReveal.objects.count() == 0
    client.logout()
    user = _staff(client, CS)
    assert f"{order.order_no},13712345678" in _export(client)
    assert list(PhoneReveal.objects.values_list("staff_id", "source")) == [(user.pk, "orders export (1)")]


def test_only_finance_may_refund(client):
    order = _order(status=Order.Status.PAID)
    for group, allowed in ((CS, False), (OPS, False), (FINANCE, True)):
        user = _staff(client, group)
        assert user.has_perm("orders.refund_order") is allowed
        # Finance reaches the refund page (which sends it back: nothing was paid through WeChat Pay).
        assert client.get(f"/admin/orders/order/{order.pk}/refund/").status_code == (302 if allowed else 403)
