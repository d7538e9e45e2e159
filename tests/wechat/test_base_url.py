"""Every call the client layer makes reaches WECHAT_API_BASE, wechatpy's included: its
`wxa` group (own class URL) and `customservice` group (absolute URLs) ignore a changed
API_BASE_URL on their own (spec 8, wechatpy 2)."""

import pytest
import responses

from wxbackend.wechat import code_to_session, miniapp_client, mp_client

MENU = {"button": [{"type": "click", "name": "今日推荐", "key": "V1001_TODAY"},
                   {"name": "更多", "sub_button": [{"type": "view", "name": "官网",
                                                    "url": "https://shop.example.com/"}]}]}
QR = {"expire_seconds": 600, "action_name": "QR_STR_SCENE",
      "action_info": {"scene": {"scene_str": "campaign-1"}}}

CASES = [
    ("message.send_text", "cgi-bin/message/custom/send",
     lambda sim: mp_client.message.send_text("o_1", "您好")),
    ("message.send_template", "cgi-bin/message/template/send",
     lambda sim: mp_client.message.send_template("o_1", "tpl_1", {"thing1": {"value": "已发货"}})),
    ("wxa.send_subscribe_message", "cgi-bin/message/subscribe/send",
     lambda sim: miniapp_client.wxa.send_subscribe_message("o_1", "tpl_2", {"thing1": {"value": "已发货"}})),
    ("wxa.code_to_session", "sns/jscode2session",
     lambda sim: miniapp_client.wxa.code_to_session(sim.issue_login_code("o_1"))),
    ("customservice.add_account", "customservice/kfaccount/add",
     lambda sim: mp_client.customservice.add_account("kf1@shop", "客服一", "pw")),
    ("customservice.get_accounts", "cgi-bin/customservice/getkflist",
     lambda sim: mp_client.customservice.get_accounts()),
    ("user.get", "cgi-bin/user/info", lambda sim: mp_client.user.get("o_1")),
    ("menu.create", "cgi-bin/menu/create", lambda sim: mp_client.menu.create(MENU)),
    ("qrcode.create", "cgi-bin/qrcode/create", lambda sim: mp_client.qrcode.create(QR)),
    ("call(): jscode2session", "sns/jscode2session",
     lambda sim: code_to_session(sim.issue_login_code("o_1"))),
]


@pytest.mark.parametrize(("name", "path", "make_call"), CASES, ids=[c[0] for c in CASES])
def test_every_call_reaches_the_configured_base_and_nothing_else(wechat_sim, name, path, make_call):
    wechat_sim.set_user("o_1")  # a follower of the official account
    wechat_sim.issue_login_code("o_1")  # and a user of the mini-program
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(wechat_sim.api_base + "/")  # any other URL is refused
        make_call(wechat_sim)
        refused = [c.request.url for c in rsps.calls]

    assert refused == []
    (recorded,) = wechat_sim.calls(path)
    assert recorded["status"] == 200 and recorded["verdict"] == "ok"


def test_jscode2session_is_sent_without_an_access_token(wechat_sim):
    """wechatpy would fetch a token and send it along (spec 8, wechatpy 4)."""
    miniapp_client.wxa.code_to_session(wechat_sim.issue_login_code("o_1"))

    (sent,) = wechat_sim.calls("sns/jscode2session")
    assert "access_token" not in sent["query"]
    assert wechat_sim.calls("cgi-bin/stable_token") == []


def test_wechatpy_token_errors_are_retried_once_not_forever(wechat_sim):
    from wxbackend.wechat import GatewayRejected

    wechat_sim.fail_next("cgi-bin/message/custom/send", 40001, times=50)
    with pytest.raises(GatewayRejected):
        mp_client.message.send_text("o_1", "hi")
    assert len(wechat_sim.calls("cgi-bin/message/custom/send")) == 2


def test_wechatpy_groups_on_other_hosts_are_refused_before_sending(wechat_sim):
    from wxbackend.wechat import GatewayRejected

    with pytest.raises(GatewayRejected, match="does not route"):
        mp_client.get("https://mp.weixin.qq.com/cgi-bin/showqrcode")
    assert wechat_sim.calls() == []
