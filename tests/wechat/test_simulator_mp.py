"""The simulator checks what WeChat checks on messages, users, menus and QR codes (spec 5)."""

import pytest
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from wxbackend.wechat import GatewayRejected, call, get_access_token


def _errcode(app, path, body):
    with pytest.raises(GatewayRejected) as caught:
        call(app, "POST", path, json=body)
    return caught.value.errcode, caught.value.errmsg


CUSTOM = "cgi-bin/message/custom/send"
SUBSCRIBE = "cgi-bin/message/subscribe/send"


@pytest.mark.parametrize(("body", "errcode"), [
    ({"touser": "o_1", "msgtype": "text", "text": {"content": ""}}, 44004),
    ({"touser": "o_1", "msgtype": "sticker", "sticker": {}}, 40008),
    ({"touser": "o_1", "msgtype": "image", "image": {}}, 47001),
    ({"touser": "o_1", "msgtype": "news", "news": {"articles": [{"title": "a", "url": "u"}] * 2}}, 44003),
    ({"touser": "bad openid!", "msgtype": "text", "text": {"content": "hi"}}, 40003),
])
def test_customer_service_sends_are_checked_per_msgtype(wechat_sim, body, errcode):
    wechat_sim.set_user("o_1")
    assert _errcode("mp", CUSTOM, body)[0] == errcode


def test_customer_service_send_outside_the_48_hour_window_is_refused(wechat_sim):
    wechat_sim.set_user("o_1")
    body = {"touser": "o_1", "msgtype": "miniprogrampage", "miniprogrampage": {
        "title": "保温杯", "appid": "wx_mini", "pagepath": "pages/product/detail?id=1", "thumb_media_id": "m1"}}
    assert call("mp", "POST", CUSTOM, json=body) == {"errcode": 0, "errmsg": "ok"}

    wechat_sim.set_user("o_1", window_closed=True)
    assert _errcode("mp", CUSTOM, body)[0] == 45015


def test_template_send_returns_a_msgid_and_needs_a_template_and_a_follower(wechat_sim):
    wechat_sim.set_user("o_1")
    body = {"touser": "o_1", "template_id": "tpl_paid",
            "data": {"character_string1": {"value": "WX20261125000001"}}}
    first, second = (call("mp", "POST", "cgi-bin/message/template/send", json=body) for _ in range(2))
    assert first["msgid"] != second["msgid"]

    assert _errcode("mp", "cgi-bin/message/template/send", {**body, "template_id": ""})[0] == 40037
    wechat_sim.set_user("o_1", subscribe=0)
    assert _errcode("mp", "cgi-bin/message/template/send", body)[0] == 43004


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("thing1", "保温杯" * 6, True), ("thing1", "保温杯" * 7, False),
    ("character_string2", "WX20261125000001", True), ("character_string2", "订单1", False),
    ("amount3", "¥12.30", True), ("amount3", "12.30元", True), ("amount3", "十二元", False),
    ("time4", "2026年11月25日 15:01", True), ("time4", "15:01", True), ("time4", "下午三点", False),
    ("date5", "2026-11-25", True), ("date5", "2026-11-25 ~ 2026-11-30", True), ("date5", "明天", False),
    ("phrase6", "已发货", True), ("phrase6", "shipped", False), ("phrase6", "已经发货了啊", False),
    ("number7", "3", True), ("number7", "3件", False), ("letter8", "abc", True), ("letter8", "a1", False),
    ("symbol9", "¥%", True), ("symbol9", "a", False), ("phone_number10", "+86-139 1234 5678", True),
    ("car_number11", "粤A12345", True), ("car_number11", "粤A123456789", False),
    ("name12", "张三", True), ("name12", "Zhang San the Third of Many", False), ("thing13", "", False),
    ("unknownkind1", "x", False),
])
def test_subscribe_values_follow_the_key_prefix_rules(wechat_sim, key, value, ok):
    wechat_sim.issue_login_code("o_1")  # o_1 is a user of the mini-program
    body = {"touser": "o_1", "template_id": "tpl_1", "data": {key: {"value": value}}}
    if ok:
        assert call("miniapp", "POST", SUBSCRIBE, json=body)["errcode"] == 0
    else:
        errcode, errmsg = _errcode("miniapp", SUBSCRIBE, body)
        assert errcode == 47003
        assert f"data.{key}.value" in errmsg


def test_subscribe_send_refused_by_the_user_answers_43101(wechat_sim):
    wechat_sim.issue_login_code("o_1")
    wechat_sim.fail_next(SUBSCRIBE, 43101, "user refuse to accept the msg")
    body = {"touser": "o_1", "template_id": "tpl_1", "data": {"thing1": {"value": "已发货"}}}
    assert _errcode("miniapp", SUBSCRIBE, body)[0] == 43101
    assert call("miniapp", "POST", SUBSCRIBE, json=body)["errcode"] == 0


def test_user_info_shows_what_set_user_said(wechat_sim):
    wechat_sim.set_user("o_1", nickname="阿福", unionid="u_1", tagid_list=[100])
    info = call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})
    assert (info["subscribe"], info["unionid"], info["tagid_list"]) == (1, "u_1", [100])
    assert "window_closed" not in info
    # WeChat stopped returning the nickname and the rest of the profile on 2021-12-27.
    assert not {"nickname", "headimgurl", "sex", "city", "province", "country"} & set(info)

    wechat_sim.set_user("o_1", subscribe=0)
    assert call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"}) == {
        "subscribe": 0, "openid": "o_1", "unionid": "u_1"}


def test_user_get_pages_with_next_openid(wechat_sim):
    wechat_sim.set_user_page_size(2)
    for n in range(5):
        wechat_sim.set_user(f"o_{n}")
    wechat_sim.set_user("o_2", subscribe=0)

    pages, next_openid = [], ""
    while True:
        page = call("mp", "GET", "cgi-bin/user/get", params={"next_openid": next_openid})
        assert page["total"] == 4
        pages.append((page.get("data", {}).get("openid", []), page["next_openid"]))
        next_openid = page["next_openid"]
        if not next_openid:
            break
    # The last page with openids names its last one too; only an empty page answers "".
    assert pages == [(["o_0", "o_1"], "o_1"), (["o_3", "o_4"], "o_4"), ([], "")]


def test_batchget_remark_and_tagging_change_what_user_info_shows(wechat_sim):
    wechat_sim.set_user("o_1")
    wechat_sim.set_user("o_2")
    call("mp", "POST", "cgi-bin/user/info/updateremark", json={"openid": "o_1", "remark": "VIP"})
    tag = call("mp", "POST", "cgi-bin/tags/create", json={"tag": {"name": "老客户"}})["tag"]["id"]
    call("mp", "POST", "cgi-bin/tags/members/batchtagging", json={"openid_list": ["o_1", "o_2"], "tagid": tag})

    users = call("mp", "POST", "cgi-bin/user/info/batchget",
                 json={"user_list": [{"openid": "o_1"}, {"openid": "o_2"}]})["user_info_list"]
    assert [(u["remark"], u["tagid_list"]) for u in users] == [("VIP", [tag]), ("", [tag])]


MENU = "cgi-bin/menu/create"


@pytest.mark.parametrize(("buttons", "errcode"), [
    ([{"type": "click", "name": f"b{n}", "key": f"k{n}"} for n in range(4)], 40016),
    ([{"name": "更多", "sub_button": [{"type": "click", "name": f"s{n}", "key": "k"} for n in range(6)]}], 40023),
    ([{"type": "click", "name": "今日推荐"}], 40019),
    ([{"type": "tap", "name": "x", "key": "k"}], 40017),
    ([{"type": "click", "name": "名字太长了超过十六字节", "key": "k"}], 40018),
    ([{"name": "更多", "sub_button": [{"type": "miniprogram", "name": "商城", "url": "https://a.example"}]}], 40026),
    ([{"name": "更多", "sub_button": [{"type": "view", "name": "官网"}]}], 40027),
])
def test_menu_create_checks_buttons(wechat_sim, buttons, errcode):
    assert _errcode("mp", MENU, {"button": buttons})[0] == errcode


def test_menu_create_get_delete(wechat_sim):
    buttons = [{"type": "click", "name": "今日推荐", "key": "TODAY"},
               {"name": "商城", "sub_button": [{"type": "miniprogram", "name": "首页", "url": "https://a.example",
                                                "appid": "wx_mini", "pagepath": "pages/index/index"}]}]
    call("mp", "POST", MENU, json={"button": [{**buttons[0], "extra": "dropped"}, buttons[1]]})
    # WeChat's own shape: the menu under "menu", leaf buttons with an empty sub_button.
    menu = call("mp", "GET", "cgi-bin/menu/get")["menu"]
    assert menu["button"] == [
        {"type": "click", "name": "今日推荐", "key": "TODAY", "sub_button": []},
        {"name": "商城", "sub_button": [{"type": "miniprogram", "name": "首页", "url": "https://a.example",
                                         "appid": "wx_mini", "pagepath": "pages/index/index", "sub_button": []}]},
    ]
    assert isinstance(menu["menuid"], int)

    call("mp", "GET", "cgi-bin/menu/delete")
    with pytest.raises(GatewayRejected) as caught:
        call("mp", "GET", "cgi-bin/menu/get")
    assert caught.value.errcode == 46003


def test_qrcodes_temporary_and_permanent(wechat_sim):
    temp = call("mp", "POST", "cgi-bin/qrcode/create", json={
        "expire_seconds": 3600, "action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 42}}})
    forever = call("mp", "POST", "cgi-bin/qrcode/create", json={
        "action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "store-7"}}})

    assert temp["expire_seconds"] == 3600 and temp["url"].startswith("http://weixin.qq.com/q/")
    assert "expire_seconds" not in forever
    assert wechat_sim.qrcode(temp["ticket"])["scene"] == 42
    assert wechat_sim.qrcode(forever["ticket"])["scene"] == "store-7"
    assert _errcode("mp", "cgi-bin/qrcode/create", {
        "action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}})[0] == 40097


def test_wrong_method_and_unknown_paths_answer_like_wechat_and_are_recorded(wechat_sim):
    assert requests.get(f"{wechat_sim.api_base}/{MENU}", timeout=5).json()["errcode"] == 43002
    unknown = requests.post(f"{wechat_sim.api_base}/cgi-bin/nothing/here", timeout=5)
    assert unknown.status_code == 200  # WeChat answers HTTP 200 with an errcode
    assert unknown.json() == {"errcode": 40066, "errmsg": "invalid url (simulator does not know it)"}
    assert [c["status"] for c in wechat_sim.calls()] == [200, 200]


def test_plain_wechatpy_sees_the_errcode_of_an_api_the_simulator_does_not_know(wechat_sim):
    """With an HTTP 404, wechatpy would raise with errcode None (WeChat answers 200)."""
    client = WeChatClient("unused", "unused", access_token=get_access_token("mp"))
    client.API_BASE_URL = f"{wechat_sim.api_base}/cgi-bin/"
    with pytest.raises(WeChatClientException) as caught:
        client.menu.add_conditional({"button": [{"type": "click", "name": "x", "key": "k"}],
                                     "matchrule": {"tag_id": "2"}})
    assert caught.value.errcode == 40066
