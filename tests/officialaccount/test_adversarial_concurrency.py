"""A WeChat retry that arrives while the first delivery is still being processed: real
threads and connections on PostgreSQL. The retry waits for the first delivery's row, gets
the same answer, and nothing is applied twice."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.db import connection
from django.test import Client

from officialaccount.models import Follower, Message, ReplyRule
from tests.officialaccount.conftest import event_xml, open_envelope, post_plain, post_safe, text_xml

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _admin_connection() -> psycopg.Connection:
    params = connection.get_connection_params()
    return psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True)


def _waiting_on_locks(admin: psycopg.Connection) -> int:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    return row[0]


def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _deliver(post, xml: str):
    try:
        response = post(Client(), xml)
        return response.status_code, response.content
    finally:
        connection.close()


@pytest.mark.parametrize("post", [post_plain, post_safe], ids=["plain", "safe"])
def test_a_retry_during_a_slow_first_delivery_gets_the_same_answer(post, request):
    """The first delivery of a subscribe is held up inside its transaction (the follower row
    is locked elsewhere); the retry arrives, waits on the unique key, and answers with the
    reply the first delivery stored. One message, one follow."""
    request.getfixturevalue("safe_mode" if post is post_safe else "plain_mode")
    ReplyRule.objects.create(name="欢迎", trigger="subscribe", text="欢迎光临")
    Follower.objects.create(openid="o_slow_0001", is_subscribed=False)
    xml = event_xml("subscribe", openid="o_slow_0001", event_key="qrscene_poster")
    with _admin_connection() as admin, _admin_connection() as locker:
        locker.autocommit = False
        locker.execute("SELECT id FROM officialaccount_follower WHERE openid = 'o_slow_0001' FOR UPDATE")
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(_deliver, post, xml)
            _until(lambda: _waiting_on_locks(admin) >= 1)  # the first delivery waits on the follower
            retry = pool.submit(_deliver, post, xml)
            _until(lambda: _waiting_on_locks(admin) >= 2)  # the retry waits on the first's row
            assert not first.done() and not retry.done()
            locker.rollback()
            results = [first.result(timeout=10), retry.result(timeout=10)]
    assert [status for status, _ in results] == [200, 200]
    if post is post_safe:
        answers = [open_envelope(body) for _, body in results]
    else:
        answers = [body for _, body in results]
    assert answers[0] == answers[1]
    assert "欢迎光临" in (answers[0] if isinstance(answers[0], str) else answers[0].decode())
    assert Message.objects.count() == 1
    follower = Follower.objects.get(openid="o_slow_0001")
    assert (follower.is_subscribed, follower.qr_scene) == (True, "poster")


def test_a_retry_after_a_failed_first_delivery_is_processed_afresh(plain_mode):
    """If the first delivery's transaction never commits (its worker died), the retry that
    waited on it stores the message itself."""
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")
    xml = text_xml("你好", msg_id=660001)
    with _admin_connection() as admin, _admin_connection() as dying:
        dying.autocommit = False
        dying.execute(  # a delivery that inserted its row and then hangs
            "INSERT INTO officialaccount_message (direction, openid, dedupe_key, msg_type, event, event_key, "
            "qr_scene, content, fields, created_at, reply_kind, reply_text, reply_xml, status, error) VALUES "
            "('in', 'o_follower_0001', 'm:660001', 'text', '', '', '', '你好', '{}', now(), '', '', 'half', "
            "'received', '')"
        )
        results: list = []
        thread = threading.Thread(target=lambda: results.append(_deliver(post_plain, xml)))
        thread.start()
        _until(lambda: _waiting_on_locks(admin) >= 1)
        dying.rollback()
        thread.join(10)
    [(status, body)] = results
    assert status == 200 and "您好" in body.decode()
    assert Message.objects.get(dedupe_key="m:660001").reply_xml == body.decode()


def test_three_concurrent_media_deliveries_download_once(plain_mode, wechat_sim, settings):
    from wechat_simulator import state

    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    state.set_media("img_conc", b"\x89PNG\r\n\x1a\n", "image/png")
    xml = text_xml("", msg_id=660002).replace("<MsgType><![CDATA[text]]></MsgType>", "<MsgType>image</MsgType>")
    xml = xml.replace("<Content><![CDATA[]]></Content>", "<MediaId>img_conc</MediaId>")
    barrier = threading.Barrier(3)

    def deliver(_):
        barrier.wait()
        return _deliver(post_plain, xml)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(deliver, range(3)))
    assert {status for status, _ in results} == {200}
    assert Message.objects.get().media_file
    assert len(wechat_sim.calls("cgi-bin/media/get")) == 1


def test_a_message_committed_out_of_id_order_still_counts_as_an_interaction(plain_mode, wechat_sim):
    """Delivery A takes its id first but commits after delivery B, and a sweep runs in
    between: A's sender still gets a last interaction on the next pass."""
    import datetime

    from django.utils import timezone

    from officialaccount import services

    with _admin_connection() as slow:
        slow.autocommit = False
        slow.execute(  # delivery A: id n, not committed yet
            "INSERT INTO officialaccount_message (direction, openid, dedupe_key, msg_type, event, event_key, "
            "qr_scene, content, fields, created_at, reply_kind, reply_text, reply_xml, status, error) VALUES "
            "('in', 'o_late_0001', 'm:670001', 'text', '', '', '', 'a', '{}', now(), '', '', 'success', "
            "'received', '')"
        )
        b = post_plain(Client(), text_xml("b", msg_id=670002, openid="o_quick_0001"))  # id n + 1, committed
        assert b.status_code == 200
        assert services.follower_interactions_sweep() == 1  # sees B only
        slow.commit()
    assert not Follower.objects.filter(openid="o_late_0001").exists()
    assert services.follower_interactions_sweep() == 1  # the next pass catches A
    late = Follower.objects.get(openid="o_late_0001")
    assert late.last_interaction_at == Message.objects.get(dedupe_key="m:670001").created_at
    assert services.follower_interactions_sweep() == 0  # read again, nothing moves
    later = timezone.now() + datetime.timedelta(seconds=services.SWEEP_SETTLE_SECONDS + 1)
    services.follower_interactions_sweep(now=later)  # both settle: the watermark passes them
    from django.core.cache import cache

    assert cache.get(services.SWEEP_WATERMARK_KEY) == Message.objects.get(dedupe_key="m:670002").pk


@pytest.fixture
def db_settings():
    """Change the live connection settings (CONN_MAX_AGE, ATOMIC_REQUESTS) for one test:
    every thread's new connection copies them from here."""
    from django.db import connections

    shared = connections.settings["default"]
    saved = dict(shared)
    yield shared
    shared.clear()
    shared.update(saved)


def _post_live(base_url: str, xml: str):
    import requests

    from tests.officialaccount.conftest import signed_query

    return requests.post(f"{base_url}/wechat/mp/callback/", params=signed_query(), data=xml.encode(),
                         headers={"Content-Type": "text/xml"}, timeout=10)


def test_the_hot_path_with_a_connection_per_request(plain_mode, wechat_server_url, db_settings):
    """CONN_MAX_AGE=0 (no persistent connections): every message opens its own connection,
    is stored once, and the connection is closed after the request."""
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")
    db_settings["CONN_MAX_AGE"] = 0
    with _admin_connection() as admin:
        before = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()[0]
        answers = [_post_live(wechat_server_url, text_xml("你好", msg_id=680000 + n)) for n in range(3)]
        retry = _post_live(wechat_server_url, text_xml("你好", msg_id=680000))
        _until(lambda: admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()").fetchone()[0] <= before)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all("您好" in a.text for a in answers)
    assert retry.text == answers[0].text
    assert Message.objects.filter(dedupe_key__startswith="m:68000").count() == 3


def test_the_hot_path_inside_atomic_requests(plain_mode, wechat_sim, wechat_server_url, db_settings):
    """With ATOMIC_REQUESTS the request is one transaction: the callback stores through the
    ordinary cursor inside it, and a retry still finds the committed row."""
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")
    db_settings["ATOMIC_REQUESTS"] = True
    db_settings["CONN_MAX_AGE"] = 0  # the server's threads end: leave no connection behind
    first = _post_live(wechat_server_url, text_xml("你好", msg_id=690001))
    retry = _post_live(wechat_server_url, text_xml("你好", msg_id=690001))
    event = _post_live(wechat_server_url, event_xml("subscribe", openid="o_atomic_0001"))
    assert (first.status_code, retry.status_code, event.status_code) == (200, 200, 200)
    assert "您好" in first.text and retry.text == first.text
    assert Message.objects.filter(dedupe_key="m:690001").count() == 1
    assert Follower.objects.get(openid="o_atomic_0001").is_subscribed
