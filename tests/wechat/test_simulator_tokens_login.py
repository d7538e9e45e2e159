"""The simulator answers token and login calls as WeChat does (spec 3 and 4), over real
HTTP. None of these tests may touch the database, and neither may the simulator."""

import time
from types import SimpleNamespace

import pytest
import requests

from wxbackend.wechat import GatewayRejected, call, code_to_session


def _get(sim, path, **params):
    return requests.get(f"{sim.api_base}/{path}", params=params, timeout=5).json()


def _post(sim, path, body, **params):
    return requests.post(f"{sim.api_base}/{path}", params=params, json=body, timeout=5).json()


def _stable(sim, settings, force=False):
    return _post(sim, "cgi-bin/stable_token", {
        "grant_type": "client_credential", "appid": settings.WECHAT_MP_APPID,
        "secret": settings.WECHAT_MP_SECRET, "force_refresh": force,
    })


def test_cgi_bin_token_issues_a_new_token_each_call_for_either_app(wechat_sim, settings):
    apps = [(settings.WECHAT_MP_APPID, settings.WECHAT_MP_SECRET),
            (settings.WECHAT_MINIAPP_APPID, settings.WECHAT_MINIAPP_SECRET)]
    answers = [_get(wechat_sim, "cgi-bin/token", grant_type="client_credential", appid=a, secret=s)
               for a, s in apps * 2]
    assert len({a["access_token"] for a in answers}) == 4
    assert all(a["expires_in"] > 7000 for a in answers)


def test_a_new_cgi_bin_token_leaves_the_previous_one_about_five_minutes(wechat_sim, settings, monkeypatch):
    query = {"grant_type": "client_credential", "appid": settings.WECHAT_MP_APPID,
             "secret": settings.WECHAT_MP_SECRET}
    first = _get(wechat_sim, "cgi-bin/token", **query)["access_token"]
    stable = _stable(wechat_sim, settings)["access_token"]
    second = _get(wechat_sim, "cgi-bin/token", **query)["access_token"]
    wechat_sim.set_user("o_1")
    for token in (first, second, stable):
        assert _get(wechat_sim, "cgi-bin/user/info", access_token=token, openid="o_1")["openid"] == "o_1"

    # Six minutes on (the simulator's clock): the replaced token is gone, stable_token's
    # tokens are independent of cgi-bin/token's (spec 3).
    later = time.time() + 360
    monkeypatch.setattr("wechat_simulator.mp.time", SimpleNamespace(time=lambda: later, sleep=time.sleep))
    assert _get(wechat_sim, "cgi-bin/user/info", access_token=first, openid="o_1")["errcode"] == 42001
    for token in (second, stable):
        assert _get(wechat_sim, "cgi-bin/user/info", access_token=token, openid="o_1")["openid"] == "o_1"


def test_token_calls_check_grant_type_appid_and_secret(wechat_sim, settings):
    mp = settings.WECHAT_MP_APPID
    cases = [({"grant_type": "client_credential", "appid": "wx_nobody", "secret": "x"}, 40013),
             ({"grant_type": "client_credential", "appid": mp, "secret": "wrong"}, 40125),
             ({"grant_type": "password", "appid": mp, "secret": settings.WECHAT_MP_SECRET}, 40002)]
    for query, errcode in cases:
        assert _get(wechat_sim, "cgi-bin/token", **query)["errcode"] == errcode
        assert _post(wechat_sim, "cgi-bin/stable_token", query)["errcode"] == errcode


def test_stable_token_returns_the_current_token_until_forced(wechat_sim, settings):
    first, again = _stable(wechat_sim, settings), _stable(wechat_sim, settings)
    assert first["access_token"] == again["access_token"]
    assert again["expires_in"] <= first["expires_in"]

    forced = _stable(wechat_sim, settings, force=True)
    assert forced["access_token"] != first["access_token"]
    assert _stable(wechat_sim, settings)["access_token"] == forced["access_token"]
    old = _get(wechat_sim, "cgi-bin/user/info", access_token=first["access_token"], openid="o_1")
    assert old["errcode"] == 40001


def test_token_protected_endpoints_refuse_missing_unknown_and_expired_tokens(wechat_sim, settings):
    wechat_sim.set_user("o_1")
    token = _stable(wechat_sim, settings)["access_token"]
    assert _get(wechat_sim, "cgi-bin/user/info", openid="o_1")["errcode"] == 41001
    assert _get(wechat_sim, "cgi-bin/user/info", openid="o_1", access_token="forged")["errcode"] == 40001
    assert _get(wechat_sim, "cgi-bin/user/info", openid="o_1", access_token=token)["openid"] == "o_1"
    wechat_sim.expire_tokens()
    assert _get(wechat_sim, "cgi-bin/user/info", openid="o_1", access_token=token)["errcode"] == 42001


def test_login_codes_work_once(wechat_sim):
    code = wechat_sim.issue_login_code("o_1", unionid="u_1")

    session = code_to_session(code)
    assert (session["openid"], session["unionid"]) == ("o_1", "u_1")
    assert len(session["session_key"]) == 24

    with pytest.raises(GatewayRejected) as caught:
        code_to_session(code)
    assert caught.value.errcode == 40163


def test_unknown_and_expired_login_codes_are_invalid(wechat_sim):
    expired = wechat_sim.issue_login_code("o_1", expires_in=0)
    for code in ("never-issued", expired):
        with pytest.raises(GatewayRejected) as caught:
            code_to_session(code)
        assert caught.value.errcode == 40029


def test_login_without_unionid_has_no_unionid(wechat_sim):
    assert "unionid" not in code_to_session(wechat_sim.issue_login_code("o_2"))


def test_phone_number_carries_the_calling_apps_watermark_and_is_single_use(wechat_sim, settings):
    code = wechat_sim.issue_phone_code("13912345678")

    info = call("miniapp", "POST", "wxa/business/getuserphonenumber", json={"code": code})["phone_info"]
    assert (info["purePhoneNumber"], info["countryCode"]) == ("13912345678", "86")
    assert info["watermark"]["appid"] == settings.WECHAT_MINIAPP_APPID

    with pytest.raises(GatewayRejected) as caught:
        call("miniapp", "POST", "wxa/business/getuserphonenumber", json={"code": code})
    assert caught.value.errcode == 40163


def test_recorded_calls_hide_secrets_tokens_and_codes(wechat_sim, settings):
    wechat_sim.set_user("o_1")
    code = wechat_sim.issue_login_code("o_1")
    code_to_session(code)
    call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})

    recorded = str(wechat_sim.calls())
    for secret in [settings.WECHAT_MINIAPP_SECRET, settings.WECHAT_MP_SECRET, code,
                   *(t["token"] for t in wechat_sim.tokens())]:
        assert secret not in recorded
    assert wechat_sim.calls("cgi-bin/user/info")[0]["query"]["access_token"].startswith("***")
