"""The broker hangs, then dies, under 30 messages a second: every callback is still answered
within a second, and once the broker is back every side effect is done exactly once.

A drill with real parts: gunicorn (2 workers) publishing through a TCP proxy that plays the
broker's faults, a real Celery worker taking tasks from the real Redis, the simulator
answering user/info and customer-service sends. `DRILL_SECONDS` lengthens each phase
(default 15 s hung + 15 s dead).
"""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings

from officialaccount import crypto
from officialaccount.models import Follower, Message, ReplyRule
from tests.celery_worker import _database_url
from tests.faults import FaultProxy
from tests.officialaccount.conftest import event_xml, text_xml
from wechat_simulator import store
from wxbackend.models import OutboxItem

pytestmark = [pytest.mark.postgres, pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "drill_token"
RATE = 30  # messages a second
PHASE_SECONDS = float(os.environ.get("DRILL_SECONDS", "15"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_behind_proxy(wechat_sim):
    """gunicorn serving the project with its broker behind a FaultProxy."""
    broker = urlsplit(settings.CELERY_BROKER_URL)
    if broker.scheme != "redis":
        pytest.skip("the drill proxies a Redis broker")
    with FaultProxy(broker.port or 6379) as proxy:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DATABASE_CONN_MAX_AGE": "60",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{proxy.port}{broker.path or '/0'}",
            "WECHAT_API_BASE": wechat_sim.api_base,
            "WECHAT_MP_TOKEN": TOKEN,
            "WECHAT_MP_ENCODING_AES_KEY": "",
            "DJANGO_DEBUG": "1",
            "LOG_LEVEL": "ERROR",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wxbackend.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
             "--timeout", "60", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            server.kill()
            pytest.fail("gunicorn did not start:\n" + server.stderr.read())
        yield url, proxy
        server.terminate()
        server.wait(10)


def _post(url: str, xml: str, n: int) -> tuple[int, float]:
    ts, nonce = str(int(time.time())), f"drill{n}"
    query = {"signature": crypto.sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    started = time.monotonic()
    try:
        response = requests.post(f"{url}/wechat/mp/callback/", params=query, data=xml.encode(),
                                 headers={"Content-Type": "text/xml"}, timeout=10)
        status = response.status_code
    except requests.RequestException:
        status = 0
    return status, time.monotonic() - started


def test_no_callback_waits_on_a_broken_broker_and_no_side_effect_is_lost(
    gunicorn_behind_proxy, wechat_sim, celery_worker_process
):
    url, proxy = gunicorn_behind_proxy
    ReplyRule.objects.create(
        name="card", keyword="买保温杯", reply_kind=ReplyRule.Kind.MINIPROGRAM, mp_title="保温杯",
        mp_pagepath="pages/product/detail?id=1", mp_thumb_media_id="thumb_0001",
    )
    sent: list = []
    subscribers, askers = [], []
    with ThreadPoolExecutor(max_workers=16) as pool:
        start = time.monotonic()
        for phase in ("hang", "dead"):
            proxy.set_mode(phase)
            phase_end = time.monotonic() + PHASE_SECONDS
            while time.monotonic() < phase_end:
                n = len(sent)
                openid = f"o_drill_{n:05d}"
                wechat_sim.set_user(openid)
                if n % 2:
                    askers.append(openid)
                    xml = text_xml("买保温杯", msg_id=7_000_000 + n, openid=openid)
                else:
                    subscribers.append(openid)
                    xml = event_xml("subscribe", openid=openid, create_time=int(time.time()))
                sent.append(pool.submit(_post, url, xml, n))
                time.sleep(max(0.0, start + len(sent) / RATE - time.monotonic()))
        results = [f.result() for f in sent]
    proxy.set_mode("forward")

    assert {status for status, _ in results} == {200}
    slowest = max(seconds for _, seconds in results)
    assert slowest < 1.0, f"a callback took {slowest:.2f} s while the broker was down"

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not OutboxItem.objects.exclude(status=OutboxItem.Status.DONE).exists():
            break
        time.sleep(0.5)
    left = list(OutboxItem.objects.exclude(status=OutboxItem.Status.DONE).values("key", "status", "last_error")[:5])
    assert left == [], "side effects not done after the broker came back"

    # Every side effect ran exactly once: one claim per row, one WeChat call per effect.
    assert OutboxItem.objects.count() == len(sent)
    assert set(OutboxItem.objects.values_list("attempts", flat=True)) == {1}
    profile_calls = [c["query"].get("openid") for c in store.calls(path="cgi-bin/user/info", limit=10_000)]
    assert sorted(profile_calls) == sorted(subscribers)
    card_sends = [c["body"]["touser"] for c in store.calls(path="cgi-bin/message/custom/send", limit=10_000)]
    assert sorted(card_sends) == sorted(askers)
    assert Follower.objects.filter(openid__in=subscribers, profile_fetched_at__isnull=False).count() == len(subscribers)
    assert Message.objects.filter(direction="out", status="sent").count() == len(askers)
