"""The simulator keeps state per appid as WeChat does: an access token serves only the APIs
its app may use (48001), an openid belongs to the app that issued it (40003), and tags
are the official account's own."""

import pytest

from wxbackend.wechat import GatewayRejected, call

TEMPLATE = {"template_id": "tpl_paid", "data": {"character_string1": {"value": "WX20261125000001"}}}
SUBSCRIBE = {"template_id": "tpl_1", "data": {"thing1": {"value": "已发货"}}}
TEXT = {"msgtype": "text", "text": {"content": "您好"}}
MENU = {"button": [{"type": "click", "name": "今日推荐", "key": "TODAY"}]}


def _errcode(app, method, path, **kwargs):
    with pytest.raises(GatewayRejected) as caught:
        call(app, method, path, **kwargs)
    return caught.value.errcode


@pytest.mark.parametrize(("app", "method", "path", "kwargs"), [
    ("miniapp", "POST", "cgi-bin/menu/create", {"json": MENU}),
    ("miniapp", "GET", "cgi-bin/menu/get", {}),
    ("miniapp", "GET", "cgi-bin/user/info", {"params": {"openid": "o_both"}}),
    ("miniapp", "POST", "cgi-bin/message/template/send", {"json": {"touser": "o_both", **TEMPLATE}}),
    ("miniapp", "POST", "cgi-bin/tags/create", {"json": {"tag": {"name": "老客户"}}}),
    ("mp", "POST", "cgi-bin/message/subscribe/send", {"json": {"touser": "o_both", **SUBSCRIBE}}),
    ("mp", "POST", "wxa/business/getuserphonenumber", {"json": {"code": "any"}}),
])
def test_a_token_of_the_other_app_is_api_unauthorized(wechat_sim, app, method, path, kwargs):
    wechat_sim.set_user("o_both")
    wechat_sim.issue_login_code("o_both")
    assert _errcode(app, method, path, **kwargs) == 48001


def test_each_app_reaches_only_its_own_users(wechat_sim):
    wechat_sim.set_user("o_follower")
    wechat_sim.issue_login_code("o_customer")

    assert call("mp", "POST", "cgi-bin/message/template/send", json={"touser": "o_follower", **TEMPLATE})["msgid"]
    assert call("miniapp", "POST", "cgi-bin/message/subscribe/send",
                json={"touser": "o_customer", **SUBSCRIBE})["errcode"] == 0
    assert call("miniapp", "POST", "cgi-bin/message/custom/send", json={"touser": "o_customer", **TEXT})["errcode"] == 0

    assert _errcode("mp", "POST", "cgi-bin/message/template/send", json={"touser": "o_customer", **TEMPLATE}) == 40003
    assert _errcode("mp", "POST", "cgi-bin/message/custom/send", json={"touser": "o_customer", **TEXT}) == 40003
    assert _errcode("mp", "GET", "cgi-bin/user/info", params={"openid": "o_customer"}) == 40003
    assert _errcode("miniapp", "POST", "cgi-bin/message/subscribe/send",
                    json={"touser": "o_follower", **SUBSCRIBE}) == 40003
    assert _errcode("miniapp", "POST", "cgi-bin/message/custom/send", json={"touser": "o_follower", **TEXT}) == 40003


@pytest.mark.parametrize(("method", "path", "kwargs"), [
    ("GET", "cgi-bin/user/info", {"params": {"openid": "o_made_up"}}),
    ("POST", "cgi-bin/user/info/batchget", {"json": {"user_list": [{"openid": "o_made_up"}]}}),
    ("POST", "cgi-bin/user/info/updateremark", {"json": {"openid": "o_made_up", "remark": "VIP"}}),
    ("POST", "cgi-bin/message/template/send", {"json": {"touser": "o_made_up", **TEMPLATE}}),
    ("POST", "cgi-bin/message/custom/send", {"json": {"touser": "o_made_up", **TEXT}}),
])
def test_a_made_up_openid_is_no_follower(wechat_sim, method, path, kwargs):
    assert _errcode("mp", method, path, **kwargs) == 40003
    assert wechat_sim.calls("cgi-bin/user/get") == []


def test_an_unknown_openid_is_not_listed_and_a_phone_code_is_the_mini_programs(wechat_sim):
    wechat_sim.set_user("o_follower")
    page = call("mp", "GET", "cgi-bin/user/get")
    assert (page["total"], page["data"]["openid"]) == (1, ["o_follower"])
    code = wechat_sim.issue_phone_code("13912345678", appid="wx_other_miniapp")
    assert _errcode("miniapp", "POST", "wxa/business/getuserphonenumber", json={"code": code}) == 40029


def test_tags_are_stored_unique_and_checked_when_tagging(wechat_sim):
    wechat_sim.set_user("o_1")
    created = call("mp", "POST", "cgi-bin/tags/create", json={"tag": {"name": "老客户"}})["tag"]
    second = call("mp", "POST", "cgi-bin/tags/create", json={"tag": {"name": "批发"}})["tag"]
    assert created["id"] >= 100 and second["id"] == created["id"] + 1
    assert call("mp", "GET", "cgi-bin/tags/get")["tags"] == [
        {"id": created["id"], "name": "老客户", "count": 0}, {"id": second["id"], "name": "批发", "count": 0}]

    assert _errcode("mp", "POST", "cgi-bin/tags/create", json={"tag": {"name": "老客户"}}) == 45157
    unknown = {"openid_list": ["o_1"], "tagid": second["id"] + 1}
    assert _errcode("mp", "POST", "cgi-bin/tags/members/batchtagging", json=unknown) == 45159

    call("mp", "POST", "cgi-bin/tags/members/batchtagging", json={"openid_list": ["o_1"], "tagid": created["id"]})
    assert call("mp", "GET", "cgi-bin/tags/get")["tags"][0]["count"] == 1
