"""Fault drills with real parts: gunicorn serving the project while the database or the
cache is restarted under it. Each uses a server of its own (tests/private_services.py),
never the shared ones.

- PostgreSQL restarted under a stream of official-account messages: callbacks fail only
  while it is down (WeChat retries a 5xx), the same gunicorn processes serve again once it
  is back, and every message is stored exactly once.
- Redis restarted (empty, as one without persistence comes back) under mini-program calls
  that need an access token: no request fails at any time, and the token is fetched again
  and shared once Redis is back.

The broker-down drill is tests/wxbackend/test_broker_outage.py (callbacks) and
tests/payments/test_notify_broker_outage.py (payment notifications)."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from officialaccount import crypto
from tests.factories import CustomerFactory, bearer_for
from tests.officialaccount.conftest import text_xml
from tests.private_services import private_postgres, private_redis
from tests.prodrun import gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "drill_token"


def _workers(master: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout
    return {int(pid) for pid in out.split()}


def _push(url: str, msg_id: int) -> int:
    ts, nonce = str(int(time.time())), f"n{msg_id}"
    query = {"signature": crypto.sha1_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    xml = text_xml("你好，请问什么时候发货", msg_id=msg_id, openid=f"o_pg_{msg_id % 7}")
    try:
        return requests.post(f"{url}/wechat/mp/callback/", params=query, data=xml.encode(),
                             headers={"Content-Type": "text/xml"}, timeout=10).status_code
    except requests.RequestException:
        return 0


def test_postgres_restarted_under_load_fails_requests_only_while_it_is_down(wechat_sim):
    with private_postgres() as pg:
        env = {"DATABASE_URL": pg.url, "DATABASE_CONN_MAX_AGE": "60", "CELERY_BROKER_URL": "",
               "WECHAT_API_BASE": wechat_sim.api_base, "WECHAT_MP_TOKEN": TOKEN,
               "WECHAT_MP_ENCODING_AES_KEY": ""}
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT,
                                 env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stderr
        with gunicorn(env) as (url, master):
            workers = _workers(master)
            outcomes: list[tuple[float, int, int]] = []  # (sent at, msg id, status)
            retried: dict[int, int] = {}
            stop = threading.Event()

            def wechat(first_id: int) -> None:
                """One of WeChat's senders: a message every 50 ms; a 5xx is pushed again
                (WeChat retries three times, here until it lands)."""
                msg_id = first_id
                while not stop.is_set():
                    sent = time.monotonic()
                    status = _push(url, msg_id)
                    outcomes.append((sent, msg_id, status))
                    tries = 0
                    while status != 200 and tries < 60:
                        time.sleep(0.5)
                        tries += 1
                        status = _push(url, msg_id)
                    retried[msg_id] = tries
                    msg_id += 10
                    time.sleep(0.05)

            senders = [threading.Thread(target=wechat, args=(25_000_000_000_000_000 + i,)) for i in range(4)]
            for sender in senders:
                sender.start()
            time.sleep(3)
            went_down = time.monotonic()
            pg.restart(down_seconds=3)
            came_back = time.monotonic()
            time.sleep(6)
            stop.set()
            for sender in senders:
                sender.join(60)

            failed = [(sent, status) for sent, _, status in outcomes if status != 200]
            assert failed, "the restart did not show: no request failed"
            # Failures only while it was down (a request sent just before the stop may fail).
            assert all(went_down - 1 <= sent <= came_back + 1 for sent, _ in failed), failed
            after = [status for sent, _, status in outcomes if sent > came_back + 1]
            assert len(after) > 20 and set(after) == {200}
            assert _workers(master) == workers, "gunicorn replaced its workers instead of reconnecting"

        with psycopg.connect(pg.url.replace("postgres://", "postgresql://")) as conn:
            stored = conn.execute("SELECT fields->>'MsgId', count(*) FROM officialaccount_message "
                                  "WHERE direction = 'in' GROUP BY 1").fetchall()
        sent_ids = {str(msg_id) for _, msg_id, _ in outcomes}
        assert {msg_id for msg_id, _ in stored} == sent_ids
        assert {count for _, count in stored} == {1}, "a retried message was stored twice"
        print(f"\nPostgreSQL drill: {len(outcomes)} messages, {len(failed)} failed while down "
              f"(down {came_back - went_down:.1f} s), all stored once after WeChat's retries")


def test_redis_restarted_tokens_are_fetched_again_and_no_request_fails(wechat_sim, tmp_path):
    customer = CustomerFactory()
    headers = {"Authorization": f"Bearer {bearer_for(customer)}"}
    with private_redis(tmp_path) as redis:
        env = {"REDIS_URL": redis.url, "CACHE_KEY_PREFIX": "drill", "CELERY_BROKER_URL": "",
               "WECHAT_API_BASE": wechat_sim.api_base, "DATABASE_CONN_MAX_AGE": "60",
               "DATABASE_URL": _database_url()}
        with gunicorn(env) as (url, _master):
            outcomes: list[tuple[float, int]] = []
            stop = threading.Event()

            def customer_binds_phone() -> None:
                while not stop.is_set():
                    code = wechat_sim.issue_phone_code("13800138000")
                    sent = time.monotonic()
                    try:
                        status = requests.post(f"{url}/api/v1/me/phone", json={"code": code}, headers=headers,
                                               timeout=10).status_code
                    except requests.RequestException:
                        status = 0
                    outcomes.append((sent, status))
                    time.sleep(0.1)

            def token_calls() -> int:
                return len(wechat_sim.calls("cgi-bin/stable_token"))

            callers = [threading.Thread(target=customer_binds_phone) for _ in range(2)]
            for caller in callers:
                caller.start()
            time.sleep(2)
            assert token_calls() == 1, "one token, shared by both workers through Redis"
            assert redis.keys("drill:*access_token*")

            redis.stop()
            time.sleep(3)
            calls_while_down = token_calls()
            redis.start()  # empty: the token it held is gone
            came_back = time.monotonic()
            time.sleep(4)  # past the 3 s each process leaves a failed Redis alone
            settled = token_calls()
            time.sleep(3)
            stop.set()
            for caller in callers:
                caller.join(30)

        statuses = {status for _, status in outcomes}
        assert statuses == {200}, f"requests failed around the Redis restart: {statuses}"
        assert calls_while_down > 1, "with Redis down each call fetched its own token (stable_token)"
        assert redis.keys("drill:*access_token*"), "the token was not stored again once Redis was back"
        assert len([1 for sent, _ in outcomes if sent > came_back + 4]) > 10
        assert len(wechat_sim.calls("cgi-bin/stable_token")) == settled, "the new token is shared again"
        print(f"\nRedis drill: {len(outcomes)} calls, none failed; stable_token calls: 1 before, "
              f"{calls_while_down - 1} while down, {settled - calls_while_down} after it came back")


def _database_url() -> str:
    from tests.celery_worker import _database_url as url

    return url()
