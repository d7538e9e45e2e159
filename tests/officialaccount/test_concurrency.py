"""Concurrent deliveries of one message (WeChat retries overlapping a slow answer), with real
threads and connections on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from officialaccount.models import Follower, Message, ReplyRule
from tests.officialaccount.conftest import event_xml, post_plain, text_xml

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _deliver_concurrently(xml: str, times: int = 3) -> list[tuple[int, bytes]]:
    barrier = threading.Barrier(times)

    def deliver(_):
        try:
            barrier.wait()
            response = post_plain(Client(), xml)
            return response.status_code, response.content
        finally:
            connection.close()

    with ThreadPoolExecutor(times) as pool:
        return list(pool.map(deliver, range(times)))


def test_three_concurrent_deliveries_of_one_msgid_store_one_row(plain_mode):
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")
    results = _deliver_concurrently(text_xml("你好", msg_id=880001))
    assert {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1
    assert b"<![CDATA[\xe6\x82\xa8\xe5\xa5\xbd]]>" in results[0][1]
    assert Message.objects.filter(dedupe_key="m:880001").count() == 1


def test_concurrent_subscribe_deliveries_apply_once(plain_mode, wechat_sim):
    wechat_sim.set_user("o_conc_0001", unionid="u_conc")
    ReplyRule.objects.create(name="欢迎", trigger="subscribe", text="欢迎")
    results = _deliver_concurrently(event_xml("subscribe", openid="o_conc_0001", event_key="qrscene_x"), times=4)
    assert {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1
    assert Message.objects.count() == 1
    follower = Follower.objects.get(openid="o_conc_0001")
    assert (follower.qr_scene, follower.unionid) == ("x", "u_conc")
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1


def test_a_connection_dropped_by_the_server_is_replaced_without_losing_the_message(plain_mode):
    """The hot path skips Django's per-request `SELECT 1`: its INSERT is the health check,
    and a dead persistent connection is replaced and the message stored once."""
    import psycopg

    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")
    client = Client()
    assert post_plain(client, text_xml("你好", msg_id=990001)).status_code == 200
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    response = post_plain(client, text_xml("你好", msg_id=990002))
    assert response.status_code == 200
    assert "您好" in response.content.decode()
    assert connection.connection.info.backend_pid != pid
    assert Message.objects.filter(dedupe_key__in=["m:990001", "m:990002"]).count() == 2
