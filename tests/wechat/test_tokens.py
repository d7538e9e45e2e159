"""The access token is shared through the cache and fetched once at a time (spec 3)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.db import connection

from wxbackend.wechat import GatewayMisconfigured, GatewayRejected, call, get_access_token, tokens
from wxbackend.wechat.tokens import invalidate_access_token


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_threads_needing_a_token_at_once_make_one_stable_token_call(wechat_sim):
    start = threading.Barrier(8)

    def ask(_):
        try:
            start.wait()
            return get_access_token("mp")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        tokens = list(pool.map(ask, range(8)))

    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 1
    assert len(set(tokens)) == 1
    assert tokens[0] == wechat_sim.tokens()[0]["token"]


def test_one_token_serves_many_calls(wechat_sim):
    for openid in ("o_1", "o_2", "o_3"):
        wechat_sim.set_user(openid)
        call("mp", "GET", "cgi-bin/user/info", params={"openid": openid})

    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 1
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 3


def test_each_app_has_its_own_token(wechat_sim, settings):
    assert get_access_token("mp") != get_access_token("miniapp")
    sent = [c["body"]["appid"] for c in wechat_sim.calls("cgi-bin/stable_token")]
    assert sent == [settings.WECHAT_MP_APPID, settings.WECHAT_MINIAPP_APPID]


def test_stable_token_is_asked_in_normal_mode_never_forced(wechat_sim):
    get_access_token("mp")
    (sent,) = wechat_sim.calls("cgi-bin/stable_token")
    assert sent["method"] == "POST"
    assert sent["body"]["force_refresh"] is False
    assert sent["body"]["grant_type"] == "client_credential"


def test_a_token_with_less_than_five_minutes_left_is_refreshed(wechat_sim, settings):
    token = get_access_token("mp")
    key = f"wechat:access_token:{settings.WECHAT_MP_APPID}"
    entry = cache.get(key)
    cache.set(key, {**entry, "expires_at": entry["expires_at"] - 7200 + 200})
    wechat_sim.expire_tokens()  # WeChat would hand out a new one now

    assert get_access_token("mp") != token
    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 2


def test_invalidation_drops_only_the_token_that_failed(wechat_sim):
    fresh = get_access_token("mp")
    invalidate_access_token("mp", "an-older-token-another-process-saw-fail")
    assert get_access_token("mp") == fresh
    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 1

    invalidate_access_token("mp", fresh)
    get_access_token("mp")
    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 2


@pytest.mark.parametrize("errcode", [40001, 40013, 40125, 40164])
def test_the_token_call_refusing_our_credentials_is_a_config_error(wechat_sim, errcode):
    wechat_sim.fail_next("cgi-bin/stable_token", errcode, "bad credential")

    with pytest.raises(GatewayMisconfigured) as caught:
        call("mp", "GET", "cgi-bin/user/info", params={"openid": "o_1"})

    assert isinstance(caught.value, GatewayRejected)
    assert caught.value.errcode == errcode
    assert "WECHAT_MP_SECRET" in caught.value.errmsg
    assert len(wechat_sim.calls("cgi-bin/stable_token")) == 1
    assert wechat_sim.calls("cgi-bin/user/info") == []



def test_a_refresh_that_outlives_its_lock_leaves_another_process_lock_in_place(wechat_sim, settings, monkeypatch):
    """WeChat takes longer than the lock lasts; meanwhile another process takes the lock for
    its own refresh. Finishing late, this process must not release the other one's lock."""
    monkeypatch.setattr(tokens, "LOCK_SECONDS", 1)
    wechat_sim.fail_next("cgi-bin/stable_token", 0, delay=1.6)
    lock_key = f"wechat:access_token:{settings.WECHAT_MP_APPID}:lock"
    result = {}
    refresher = threading.Thread(target=lambda: result.update(token=get_access_token("mp")))
    refresher.start()

    deadline = time.monotonic() + 1.5
    while not cache.get(lock_key):  # the refresher holds the lock, then waits on WeChat
        assert time.monotonic() < deadline, "the refresher never took the lock"
        time.sleep(0.01)
    while not cache.add(lock_key, "another-process", timeout=30):  # free once the first expired
        assert time.monotonic() < deadline, "the first lock never expired"
        time.sleep(0.05)
    refresher.join(timeout=10)

    assert result["token"] == wechat_sim.tokens()[0]["token"]
    assert cache.get(lock_key) == "another-process"
