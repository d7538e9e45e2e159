"""The back office: pages render for staff with a constant number of queries; menu push and
QR code creation reach the simulator; demo data loads idempotently."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from officialaccount.models import Follower, Menu, MenuButton, Message, QrScene, ReplyRule, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(user)
    return client


def _followers(n: int, start: int = 0) -> None:
    tags = [Tag.objects.get_or_create(tag_id=t, defaults={"name": f"标签{t}"})[0] for t in (1, 2)]
    for i in range(start, start + n):
        f = Follower.objects.create(openid=f"o_admin_{i:04d}", is_subscribed=i % 2 == 0, qr_scene="poster")
        f.tags.set(tags)


def _messages(openid: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        Message.objects.create(direction="in", openid=openid, dedupe_key=f"m:{openid}:{i}", msg_type="text",
                               content=f"消息{i}", reply_kind="text", reply_text=f"回复{i}")
        Message.objects.create(direction="out", openid=openid, dedupe_key=f"cs:{openid}:{i}", msg_type="text",
                               content=f"客服{i}", status="sent")


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def test_follower_list_has_constant_queries(staff_client, django_assert_max_num_queries):
    url = reverse("admin:officialaccount_follower_changelist")
    _followers(3)
    few = _count(staff_client, url)
    _followers(30, start=3)
    with django_assert_max_num_queries(few):
        response = staff_client.get(url)
    assert "o_admin_0032" in response.content.decode()
    assert "标签1" in response.content.decode()


def test_follower_list_search_and_filters(staff_client):
    _followers(4)
    url = reverse("admin:officialaccount_follower_changelist")
    body = staff_client.get(url, {"q": "o_admin_0003"}).content.decode()
    assert "o_admin_0003" in body and "o_admin_0002" not in body
    body = staff_client.get(url, {"is_subscribed__exact": "1"}).content.decode()
    assert "o_admin_0002" in body and "o_admin_0003" not in body
    tag = Tag.objects.get(tag_id=1)
    assert "o_admin_0001" in staff_client.get(url, {"tags__id__exact": tag.pk}).content.decode()
    assert "o_admin_0001" in staff_client.get(url, {"qr_scene": "poster"}).content.decode()


def test_conversation_view_shows_both_directions_in_order_with_constant_queries(staff_client, django_assert_max_num_queries):
    _followers(1)
    follower = Follower.objects.get()
    url = reverse("admin:officialaccount_follower_conversation", args=[follower.pk])
    _messages(follower.openid, 2)
    few = _count(staff_client, url)
    _messages(follower.openid, 40, start=2)
    with django_assert_max_num_queries(few):
        response = staff_client.get(url)
    body = response.content.decode()
    assert body.index("消息0") < body.index("回复0") < body.index("客服0") < body.index("消息41")
    assert "会话" in body


def test_conversation_view_needs_staff(client):
    _followers(1)
    url = reverse("admin:officialaccount_follower_conversation", args=[Follower.objects.get().pk])
    assert client.get(url).status_code == 302  # to the login page


def test_qr_scene_list_counts_scans_and_follows(staff_client, django_assert_max_num_queries):
    QrScene.objects.create(name="海报", scene="poster")
    QrScene.objects.create(name="门店", scene="store")
    _followers(3)
    for i, event in enumerate(["subscribe", "scan", "scan"]):
        Message.objects.create(direction="in", openid="o_x", dedupe_key=f"e:{i}", msg_type="event", event=event,
                               qr_scene="poster")
    url = reverse("admin:officialaccount_qrscene_changelist")
    with django_assert_max_num_queries(8):
        response = staff_client.get(url)
    rows = {s.scene: s for s in response.context["cl"].result_list}
    assert (rows["poster"].scan_count, rows["poster"].subscribe_count, rows["poster"].follower_count) == (2, 1, 3)
    assert (rows["store"].scan_count, rows["store"].subscribe_count, rows["store"].follower_count) == (0, 0, 0)


@pytest.mark.parametrize("name", ["message", "replyrule", "menu", "autoreplysettings", "tag"])
def test_other_changelists_render(staff_client, name, django_assert_max_num_queries):
    call_command("demo_data", stdout=io.StringIO()) if name == "menu" else None
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse(f"admin:officialaccount_{name}_changelist"))
    assert response.status_code == 200


def test_rule_add_page_renders_and_saves_with_articles(staff_client):
    url = reverse("admin:officialaccount_replyrule_add")
    assert staff_client.get(url).status_code == 200
    data = {
        "name": "图文", "trigger": "keyword", "match": "contains", "keyword": "新品", "priority": "3",
        "is_active": "on", "reply_kind": "news", "text": "", "media_id": "",
        "mp_title": "", "mp_appid": "", "mp_pagepath": "", "mp_thumb_media_id": "",
        "articles-TOTAL_FORMS": "1", "articles-INITIAL_FORMS": "0", "articles-MIN_NUM_FORMS": "0",
        "articles-MAX_NUM_FORMS": "8", "articles-0-position": "0", "articles-0-title": "本周新品",
        "articles-0-description": "", "articles-0-pic_url": "", "articles-0-url": "https://example.com/n",
    }
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = ReplyRule.objects.get(name="图文")
    assert [a.title for a in rule.articles.all()] == ["本周新品"]


def test_menu_push_reaches_the_simulator(staff_client, wechat_sim, settings):
    settings.WECHAT_MINIAPP_APPID = "wx_miniapp_0001"
    call_command("demo_data", stdout=io.StringIO())
    menu = Menu.objects.get()
    response = staff_client.post(reverse("admin:officialaccount_menu_changelist"),
                                 {"action": "push", "_selected_action": [menu.pk]})
    assert response.status_code == 302
    created = wechat_sim.calls("cgi-bin/menu/create")
    assert len(created) == 1 and created[0]["verdict"] == "ok"
    buttons = created[0]["body"]["button"]
    assert buttons[0] == {"type": "miniprogram", "name": "商城", "url": settings.PUBLIC_BASE_URL.rstrip("/") + "/",
                          "appid": "wx_miniapp_0001", "pagepath": "pages/index/index"}
    assert [b["type"] for b in buttons[1]["sub_button"]] == ["click", "view"]
    menu.refresh_from_db()
    assert menu.pushed_at is not None and menu.push_error == ""


def test_menu_push_refusal_is_shown(staff_client, wechat_sim):
    menu = Menu.objects.create(name="坏菜单")
    MenuButton.objects.create(menu=menu, name="子菜单", kind="sub")  # a sub-menu without buttons
    response = staff_client.post(reverse("admin:officialaccount_menu_changelist"),
                                 {"action": "push", "_selected_action": [menu.pk]}, follow=True)
    assert "推送失败" in response.content.decode()
    assert wechat_sim.calls("cgi-bin/menu/create") == []


def test_qr_code_creation_reaches_the_simulator(staff_client, wechat_sim):
    permanent = QrScene.objects.create(name="海报", scene="poster")
    temporary = QrScene.objects.create(name="活动", scene="promo", is_permanent=False, expire_seconds=3600)
    staff_client.post(reverse("admin:officialaccount_qrscene_changelist"),
                      {"action": "create_codes", "_selected_action": [permanent.pk, temporary.pk]})
    bodies = {c["body"]["action_info"]["scene"]["scene_str"]: c["body"] for c in wechat_sim.calls("cgi-bin/qrcode/create")}
    assert bodies["poster"]["action_name"] == "QR_LIMIT_STR_SCENE"
    assert bodies["promo"]["action_name"] == "QR_STR_SCENE" and bodies["promo"]["expire_seconds"] == 3600
    permanent.refresh_from_db()
    temporary.refresh_from_db()
    assert permanent.ticket and permanent.expires_at is None
    assert wechat_sim.qrcode(permanent.ticket)["scene"] == "poster"
    assert temporary.expires_at is not None


def test_demo_data_is_idempotent():
    for _ in range(2):
        call_command("demo_data", stdout=io.StringIO())
    assert ReplyRule.objects.filter(trigger="keyword", keyword="你好").count() == 1
    assert ReplyRule.objects.filter(trigger="subscribe").count() == 1
    assert Menu.objects.count() == 1 and MenuButton.objects.count() == 4
    assert QrScene.objects.count() == 1


def test_follower_change_page_links_to_the_conversation(staff_client):
    _followers(1)
    follower = Follower.objects.get()
    response = staff_client.get(reverse("admin:officialaccount_follower_change", args=[follower.pk]))
    assert response.status_code == 200
    assert reverse("admin:officialaccount_follower_conversation", args=[follower.pk]) in response.content.decode()


def test_auto_reply_settings_is_a_singleton(staff_client):
    url = reverse("admin:officialaccount_autoreplysettings_add")
    data = {"default_reply_text": "收到", "service_start": "09:00:00", "service_end": "21:00:00",
            "out_of_hours_text": "", "match_products": "on"}
    assert staff_client.post(url, data).status_code == 302
    assert staff_client.get(url).status_code == 403  # a second one cannot be added


def test_remark_edit_is_set_on_wechat_first(staff_client, wechat_sim):
    wechat_sim.set_user("o_admin_0000")
    _followers(1)
    follower = Follower.objects.get()
    url = reverse("admin:officialaccount_follower_change", args=[follower.pk])
    response = staff_client.post(url, {"remark": "老客户"})
    assert response.status_code == 302
    follower.refresh_from_db()
    assert follower.remark == "老客户"
    sent = wechat_sim.calls("cgi-bin/user/info/updateremark")
    assert [c["body"] for c in sent] == [{"openid": "o_admin_0000", "remark": "老客户"}]
    assert list(follower.tags.values_list("tag_id", flat=True)) == [1, 2]  # tags are not edited here
