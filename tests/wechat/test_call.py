"""call(): one refresh and one resend on token errors, and WeChat's answers mapped to the
two exceptions the callers act on (spec 3 and 5.4)."""

import socket
import time

import pytest
import responses

from wechat_simulator import state
from wxbackend.wechat import GatewayRejected, GatewayUnavailable, WeChatError, call

USER_INFO = "cgi-bin/user/info"


def _user_info():
    return call("mp", "GET", USER_INFO, params={"openid": "o_1"})


@pytest.fixture(autouse=True)
def _follower(_clean_cache):
    state.set_user("o_1")


def test_answers_come_back_as_dicts(wechat_sim):
    wechat_sim.set_user("o_1", unionid="u_1")
    assert _user_info()["unionid"] == "u_1"


def test_40001_is_followed_by_one_refresh_and_one_resend_then_a_clear_error(wechat_sim):
    wechat_sim.fail_next(USER_INFO, 40001, "invalid credential", times=5)

    with pytest.raises(GatewayRejected) as caught:
        _user_info()

    assert caught.value.errcode == 40001
    assert "again after one refresh" in caught.value.errmsg
    assert len(wechat_sim.calls(USER_INFO)) == 2
    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 2


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_a_token_error_once_is_repaired_by_the_resend(wechat_sim, errcode):
    wechat_sim.fail_next(USER_INFO, errcode)

    assert _user_info()["openid"] == "o_1"
    assert len(wechat_sim.calls(USER_INFO)) == 2


def test_an_expired_token_is_replaced_by_a_new_one(wechat_sim):
    _user_info()
    wechat_sim.expire_tokens()

    _user_info()

    first, second, third = wechat_sim.calls(USER_INFO)
    assert second["verdict"].startswith("42001")
    assert third["status"] == 200 and third["verdict"] == "ok"
    assert third["query"]["access_token"] != first["query"]["access_token"]


@pytest.mark.parametrize(
    ("errcode", "exception"),
    [(-1, GatewayUnavailable), (45009, GatewayUnavailable), (40003, GatewayRejected),
     (43004, GatewayRejected), (48001, GatewayRejected)],
)
def test_errcodes_map_to_transient_or_permanent(wechat_sim, errcode, exception):
    wechat_sim.fail_next(USER_INFO, errcode, "from the simulator")

    with pytest.raises(exception) as caught:
        _user_info()

    assert isinstance(caught.value, WeChatError)
    assert (caught.value.errcode, caught.value.errmsg) == (errcode, "from the simulator")
    assert len(wechat_sim.calls(USER_INFO)) == 1  # no resend for anything but token errors


def test_http_5xx_is_transient(wechat_sim):
    wechat_sim.fail_next(USER_INFO, 0, status=502)
    with pytest.raises(GatewayUnavailable) as caught:
        _user_info()
    assert caught.value.errcode is None


def test_an_answer_slower_than_the_read_timeout_is_transient(wechat_sim, settings):
    _user_info()  # the token is fetched at the normal timeout
    settings.WECHAT_READ_TIMEOUT = 0.2
    wechat_sim.fail_next(USER_INFO, 0, delay=0.8)

    with pytest.raises(GatewayUnavailable) as caught:
        _user_info()

    assert "in time" in caught.value.errmsg
    _wait_for_calls(wechat_sim, USER_INFO, 2)  # the late answer lands before the cache is cleared


def test_an_unreachable_wechat_is_transient(wechat_sim, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{port}"

    with pytest.raises(GatewayUnavailable):
        call("mp", "GET", "sns/jscode2session", params={"js_code": "x"}, token=False)


def test_a_path_wechat_does_not_know_is_permanent_and_recorded(wechat_sim):
    with pytest.raises(GatewayRejected) as caught:
        call("mp", "POST", "cgi-bin/no/such/api", json={})
    assert caught.value.errcode == 40066
    (recorded,) = wechat_sim.calls("cgi-bin/no/such/api")
    assert recorded["status"] == 200  # as WeChat answers: HTTP 200 with an errcode


def test_chinese_is_sent_as_utf8_not_as_escapes(settings):
    settings.WECHAT_API_BASE = "https://wechat.test"
    with responses.RequestsMock() as rsps:
        rsps.post("https://wechat.test/sns/component/send", json={"errcode": 0})
        call("mp", "POST", "sns/component/send", token=False, json={"text": "您好"})
        sent = rsps.calls[0].request
    assert "您好".encode() in sent.body
    assert sent.headers["Content-Type"] == "application/json"


def _wait_for_calls(sim, path, count):
    deadline = time.monotonic() + 3
    while len(sim.calls(path)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(sim.calls(path)) == count
