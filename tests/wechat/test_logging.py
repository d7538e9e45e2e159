"""One structured line per WeChat call, and never a secret, token, code, session_key or
phone number in it (issue 3, item 10)."""

import json
import logging

import pytest

from wxbackend.logging import JsonFormatter, PlainFormatter
from wxbackend.wechat import GatewayRejected, call, code_to_session


def _wechat_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == "wxbackend.wechat"]


def test_one_json_line_per_call_with_app_method_path_status_errcode_and_duration(wechat_sim, caplog):
    wechat_sim.set_user("o_1")
    caplog.set_level(logging.INFO)
    call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})

    token_line, info_line = _wechat_lines(caplog)
    assert token_line["path"] == "cgi-bin/stable_token"
    assert {k: info_line[k] for k in ("app", "method", "path", "status", "errcode")} == {
        "app": "mp", "method": "GET", "path": "cgi-bin/user/info", "status": 200, "errcode": None,
    }
    assert info_line["ms"] >= 0


def test_failures_are_logged_as_warnings_with_their_errcode(wechat_sim, caplog):
    caplog.set_level(logging.INFO)
    wechat_sim.fail_next("cgi-bin/user/info", 40003, "invalid openid")
    with pytest.raises(GatewayRejected):
        call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})

    failed = [r for r in caplog.records if r.name == "wxbackend.wechat" and r.levelno == logging.WARNING]
    assert [r.event["errcode"] for r in failed] == [40003]


def test_no_secret_token_code_session_key_or_phone_reaches_the_log(wechat_sim, caplog, settings):
    wechat_sim.set_user("o_1")
    caplog.set_level(logging.DEBUG)
    login_code = wechat_sim.issue_login_code("o_1", "u_1", session_key="c2Vzc2lvbi1rZXktMTIzNA==")
    phone_code = wechat_sim.issue_phone_code("13912345678")

    session = code_to_session(login_code)
    phone = call("miniapp", "POST", "wxa/business/getuserphonenumber", json={"code": phone_code})
    call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})
    wechat_sim.fail_next("cgi-bin/user/info", 40001, times=2)
    with pytest.raises(GatewayRejected):
        call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})

    secrets = [settings.WECHAT_MP_SECRET, settings.WECHAT_MINIAPP_SECRET, login_code, phone_code,
               session["session_key"], phone["phone_info"]["purePhoneNumber"]]
    secrets += [t["token"] for t in wechat_sim.tokens()]
    assert len(secrets) == 8  # two apps' tokens
    output = "\n".join(
        f"{JsonFormatter().format(r)}\n{PlainFormatter().format(r)}\n{r.__dict__}" for r in caplog.records
    )
    assert "cgi-bin/user/info" in output
    for secret in secrets:
        assert secret not in output
