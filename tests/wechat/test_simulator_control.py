"""The simulator's page and controls, for a person logging in against `make run`."""

import requests

from wxbackend.wechat import call, code_to_session


def test_a_login_code_from_the_control_endpoint_logs_in(wechat_sim):
    issued = requests.post(f"{wechat_sim.url}/__sim__/control/login-code",
                           json={"openid": "o_dev", "unionid": "u_dev"}, timeout=5).json()

    session = code_to_session(issued["code"])
    assert (session["openid"], session["unionid"]) == ("o_dev", "u_dev")


def test_phone_code_and_user_controls(wechat_sim):
    phone = requests.post(f"{wechat_sim.url}/__sim__/control/phone-code",
                          json={"phone": "13700000000"}, timeout=5).json()
    info = call("miniapp", "POST", "wxa/business/getuserphonenumber", json={"code": phone["code"]})
    assert info["phone_info"]["purePhoneNumber"] == "13700000000"

    requests.post(f"{wechat_sim.url}/__sim__/control/user", json={"openid": "o_9", "remark": "阿九"}, timeout=5)
    assert call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_9"})["remark"] == "阿九"


def test_a_login_code_is_for_the_mini_program_only(wechat_sim, settings):
    url = f"{wechat_sim.url}/__sim__/control/login-code"
    refused = requests.post(url, json={"appid": settings.WECHAT_MP_APPID}, timeout=5)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid")

    issued = requests.post(url, json={"openid": "o_dev", "appid": settings.WECHAT_MINIAPP_APPID}, timeout=5).json()
    assert issued["appid"] == settings.WECHAT_MINIAPP_APPID
    # Exchanged with the official account's appid and secret, as WeChat answers: 40029.
    answer = requests.get(f"{wechat_sim.api_base}/sns/jscode2session", params={
        "appid": settings.WECHAT_MP_APPID, "secret": settings.WECHAT_MP_SECRET, "js_code": issued["code"],
        "grant_type": "authorization_code"}, timeout=5).json()
    assert answer["errcode"] == 40029
    assert code_to_session(issued["code"])["openid"] == "o_dev"  # still good for the mini-program


def test_the_form_on_the_page_shows_the_issued_code(wechat_sim):
    page = requests.post(f"{wechat_sim.url}/__sim__/control/login-code", data={"openid": "o_form"}, timeout=5)
    assert page.status_code == 200
    assert "sim_login_" in page.text and "o_form" in page.text


def test_the_page_and_calls_json_list_calls_newest_first(wechat_sim):
    wechat_sim.set_user("o_1")
    call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})
    call("mp", "GET", "cgi-bin/menu/delete")

    listed = requests.get(f"{wechat_sim.url}/__sim__/calls.json", timeout=5).json()["calls"]
    assert [c["path"] for c in listed] == ["cgi-bin/menu/delete", "cgi-bin/user/info", "cgi-bin/stable_token"]

    page = requests.get(f"{wechat_sim.url}/__sim__/", timeout=5).text
    assert page.index("cgi-bin/menu/delete") < page.index("cgi-bin/user/info") < page.index("cgi-bin/stable_token")


def test_the_simulator_refuses_to_answer_when_switched_off(wechat_sim, settings):
    settings.WECHAT_SIMULATOR_ENABLED = False
    for response in (requests.post(f"{wechat_sim.api_base}/cgi-bin/stable_token", json={}, timeout=5),
                     requests.get(f"{wechat_sim.url}/__sim__/", timeout=5),
                     requests.post(f"{wechat_sim.url}/__sim__/control/login-code", json={}, timeout=5)):
        assert response.status_code == 404
    assert wechat_sim.calls() == []
