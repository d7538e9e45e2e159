"""More than one machine: two separate gunicorn instances and two Celery workers on RabbitMQ,
against one PostgreSQL and one Redis, take duplicate payment notifications and duplicate
official-account pushes through both instances at once. What must happen once happens
once: one stable_token grant per app, one `paid` transition per payment, one stored
message per MsgId, one profile fetch per follower, one notice per order event.

Nothing about a request lives in a web process: the access token and its refresh lock are
in Redis, deduplication and state transitions in PostgreSQL (unique keys, row locks), side
effects in the outbox table, and the broker only carries row ids. A private RabbitMQ vhost
(made with rabbitmqctl) keeps parallel runs from sharing queues; without rabbitmqctl the run
uses a queue of its own on the default vhost.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.conf import settings
from kombu import Connection

from notifications.models import Channel, Notice, NotificationTemplate
from officialaccount import crypto
from officialaccount.models import Follower, Message, ReplyRule
from orders.models import Order, OrderEvent
from orders.services import order_create
from payments.models import PaymentAttempt
from tests.celery_worker import _database_url
from tests.factories import AddressFactory, CustomerFactory, SkuFactory, bearer_for
from tests.notifications.conftest import SUBSCRIBE_KEYWORDS, grant, subscribe_template_id
from tests.officialaccount.conftest import event_xml, text_xml
from tests.payments.conftest import NOTIFY, pay_at_wechat
from tests.wechat_pay.conftest import notify_receiver, pay_key_files, pay_settings  # noqa: F401
from wechat_simulator import store
from wxbackend.models import OutboxItem

pytestmark = [pytest.mark.postgres, pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "two_instances_token"
RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
ORDERS = 6  # each notification delivered 3 times to each instance
FOLLOWERS = 10  # each subscribe event and each text delivered twice to each instance
COPIES = 2  # per instance, at once
# Settings the instances and workers must share with this process (and each other).
SHARED = ("DJANGO_SECRET_KEY:SECRET_KEY", "WECHAT_MP_APPID", "WECHAT_MP_SECRET", "WECHAT_MINIAPP_APPID",
          "WECHAT_MINIAPP_SECRET", "WECHAT_PAY_MCH_ID", "WECHAT_PAY_API_VERSION", "WECHAT_PAY_APIV3_KEY",
          "WECHAT_PAY_API_KEY", "WECHAT_PAY_MCH_CERT_SERIAL", "WECHAT_PAY_MCH_PRIVATE_KEY_PATH",
          "WECHAT_PAY_PUBLIC_KEY_ID", "WECHAT_PAY_PUBLIC_KEY_PATH", "WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rabbitmqctl(*args: str) -> bool:
    try:
        return subprocess.run(["rabbitmqctl", *args], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture
def rabbit():
    """(broker URL, queue name): a private vhost when rabbitmqctl can make one, else the
    default vhost with a queue of this run's own."""
    try:
        with Connection(RABBIT, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure to reach it: no RabbitMQ here
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the two-instance test: RabbitMQ at 127.0.0.1:5672 ({exc})")
        pytest.skip(f"needs RabbitMQ at 127.0.0.1:5672 ({type(exc).__name__})")
    name = f"wx_two_{os.getpid()}_{secrets.token_hex(3)}"
    if shutil.which("rabbitmqctl") and _rabbitmqctl("add_vhost", name):
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield RABBIT + name, "celery"
        _rabbitmqctl("delete_vhost", name)
    else:
        yield RABBIT, name


@pytest.fixture
def cluster(rabbit, wechat_sim, pay_settings, notify_receiver):  # noqa: F811
    """Two gunicorn instances (two workers each) and two Celery workers, all separate
    processes sharing only PostgreSQL, Redis and the broker; yields the instances' URLs."""
    broker, queue = rabbit
    env = {
        **os.environ,
        **{name.split(":")[0]: str(getattr(settings, name.split(":")[-1])) for name in SHARED},
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "WECHAT_API_BASE": wechat_sim.api_base,
        "WECHAT_PAY_API_BASE": wechat_sim.pay_base,
        "WECHAT_PAY_NOTIFY_BASE_URL": settings.WECHAT_PAY_NOTIFY_BASE_URL,
        "WECHAT_MP_TOKEN": TOKEN,
        "WECHAT_MP_ENCODING_AES_KEY": "",
        "DJANGO_DEBUG": "1",
        "LOG_LEVEL": "ERROR",
    }
    processes, urls = [], []
    try:
        for _ in range(2):
            port = _free_port()
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "wxbackend.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
                 "--timeout", "60", "--log-level", "warning"],
                cwd=ROOT, env={**env, "DATABASE_CONN_MAX_AGE": "60"},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            urls.append(f"http://127.0.0.1:{port}")
        names = [f"two-{letter}-{os.getpid()}@localhost" for letter in "ab"]
        for name in names:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "wxbackend", "worker", "--pool=solo", "-Q", queue,
                 "--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", name],
                cwd=ROOT, env={**env, "DATABASE_CONN_MAX_AGE": "0"},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        _wait_until_serving(urls, processes)
        _wait_until_consuming(broker, queue, len(names), processes)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_serving(urls: list[str], processes) -> None:
    deadline = time.monotonic() + 30
    for url in urls:
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            _check_alive(processes)
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn at {url} did not start within 30 s")
            time.sleep(0.2)


def _wait_until_consuming(broker: str, queue: str, count: int, processes) -> None:
    """Until `count` consumers take the task queue (RabbitMQ counts them on a passive
    declare; a remote-control ping is slower to answer on a busy machine)."""
    deadline = time.monotonic() + 45
    with Connection(broker, connect_timeout=2) as conn:
        while True:
            try:
                consumers = conn.default_channel.queue_declare(queue, passive=True).consumer_count
            except Exception:  # not declared yet: no worker has started consuming
                conn.close()
                consumers = 0
            if consumers >= count:
                return
            _check_alive(processes)
            if time.monotonic() > deadline:
                pytest.fail(f"{count} Celery workers did not take the queue within 45 s")
            time.sleep(0.3)


def _check_alive(processes) -> None:
    for process in processes:
        if process.poll() is not None:
            pytest.fail(f"{process.args[:4]} exited:\n{process.stderr.read() if process.stderr else ''}")


def _push(url: str, xml: str) -> int:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {"signature": crypto.sha1_signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
    return requests.post(f"{url}/wechat/mp/callback/", params=query, data=xml.encode(),
                         headers={"Content-Type": "text/xml"}, timeout=15).status_code


def _notify(url: str, headers: dict, body: bytes) -> int:
    return requests.post(f"{url}{NOTIFY}", data=body, headers=headers, timeout=15).status_code


def _paid_orders_awaiting_notification(urls, wechat_sim, receiver) -> list[tuple[Order, dict, bytes]]:
    """ORDERS customers, each granted the `paid` notice, with an order paid at WeChat; the
    signed notification WeChat posts for each, captured. Trades are opened through both
    instances (POST /api/v1/orders/{no}/pay)."""
    NotificationTemplate.objects.create(
        event="paid", channel=Channel.SUBSCRIBE, template_id=subscribe_template_id("paid"),
        page="pages/order/detail?no={order_no}", miniprogram_state="trial", keywords=SUBSCRIBE_KEYWORDS)
    found = []
    for n in range(ORDERS):
        customer = CustomerFactory(openid=f"o_two_buyer_{n}")
        wechat_sim.issue_login_code(customer.openid)  # a user of the mini-program at WeChat
        grant(customer, "paid")
        order = order_create(customer_id=customer.pk, lines=[(SkuFactory(price_fen=1000 + n, stock=5).id, 1)],
                             address_id=AddressFactory(customer=customer).id)
        answer = requests.post(f"{urls[n % 2]}/api/v1/orders/{order.order_no}/pay", timeout=15,
                               headers={"Authorization": f"Bearer {bearer_for(customer)}"})
        assert answer.status_code == 200, answer.text
        attempt = PaymentAttempt.objects.get(order=order)
        headers, body = pay_at_wechat(attempt.out_trade_no, receiver)
        found.append((order, {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}, body))
    return found


def test_two_instances_and_two_workers_do_each_thing_once(cluster, wechat_sim, notify_receiver):  # noqa: F811
    started = time.monotonic()
    urls = cluster
    ReplyRule.objects.create(name="问候", keyword="你好", text="您好")
    ReplyRule.objects.create(name="欢迎", trigger="subscribe", text="感谢关注")
    paid = _paid_orders_awaiting_notification(urls, wechat_sim, notify_receiver)
    followers = [f"o_two_follower_{n}" for n in range(FOLLOWERS)]
    for openid in followers:
        wechat_sim.set_user(openid)

    with ThreadPoolExecutor(max_workers=24) as pool:
        notified = [pool.submit(_notify, url, headers, body)
                    for _, headers, body in paid for url in urls for _ in range(3)]
        pushed = []
        for n, openid in enumerate(followers):
            subscribe = event_xml("subscribe", openid=openid, create_time=int(time.time()))
            text = text_xml("你好", msg_id=8_100_000 + n, openid=openid)
            pushed += [pool.submit(_push, url, xml) for xml in (subscribe, text) for url in urls for _ in range(COPIES)]
        assert Counter(f.result() for f in notified) == {204: len(notified)}
        assert Counter(f.result() for f in pushed) == {200: len(pushed)}

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        OutboxItem.objects.exclude(status=OutboxItem.Status.DONE).exists()
        or Notice.objects.exclude(status=Notice.Status.SENT).exists()
    ):
        time.sleep(0.2)
    assert list(OutboxItem.objects.exclude(status=OutboxItem.Status.DONE).values("key", "status", "last_error")) == []

    # One access token per app, fetched once among four web processes and two workers.
    grants = Counter(c["body"]["appid"] for c in store.calls(path="cgi-bin/stable_token", limit=10_000))
    assert grants == {settings.WECHAT_MP_APPID: 1, settings.WECHAT_MINIAPP_APPID: 1}
    # One transition per payment, whichever instance won.
    for order, _, _ in paid:
        assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
        assert Order.objects.get(pk=order.pk).status == "paid"
    # One stored message per MsgId and per event, one profile fetch per follower.
    inbound = Counter(Message.objects.filter(direction="in").values_list("dedupe_key", flat=True))
    assert len(inbound) == 2 * FOLLOWERS and set(inbound.values()) == {1}
    profile_fetches = Counter(c["query"]["openid"] for c in store.calls(path="cgi-bin/user/info", limit=10_000))
    assert profile_fetches == dict.fromkeys(followers, 1)
    assert Follower.objects.filter(openid__in=followers, profile_fetched_at__isnull=False).count() == FOLLOWERS
    # One notice per order event, sent once.
    assert Counter(Notice.objects.values_list("order_id", "event", "status")) == {
        (order.pk, "paid", "sent"): 1 for order, _, _ in paid}
    sends = Counter(c["body"]["touser"] for c in store.calls(path="cgi-bin/message/subscribe/send", limit=10_000)
                    if c["verdict"] == "ok")
    assert sends == {order.customer.openid: 1 for order, _, _ in paid}
    assert time.monotonic() - started < 60
