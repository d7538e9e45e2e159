"""Order notices through a real Celery worker (issue 9).

2,000 queued notices (half subscribe messages, half template messages) and their outbox
rows are written at once; the relay publishes them to Redis and one worker, started as
`make worker` starts it, sends them to the simulator. The row is the worker's notices per
second as a ratio to a bare loop in this process posting the same 2,000 bodies to the same
simulator, one after another on one keep-alive session, measured in the same run. Target:
ratio >= 0.5, and everything sent within 90 s.

The simulator runs in its own gunicorn with debug on (it is never mounted with debug off);
the project's bench gunicorn is not involved. The worker's output goes to a file under
bench/results/: a pipe nobody reads fills after a few hundred log lines and then blocks the
worker in its next write, which is how an earlier version of this bench stalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from bench.common import RESULTS_DIR, ROOT, Context, Result

NOTICES = int(os.environ.get("BENCH_NOTICES") or 2000)
CUSTOMERS = 40
TARGET = 0.5
DEADLINE_SECONDS = 90
DEFAULT_BROKER = "redis://127.0.0.1:6379/14"
SUBSCRIBE, TEMPLATE = "cgi-bin/message/subscribe/send", "cgi-bin/message/template/send"


def _payload(channel: str, n: int, tag: str) -> dict:
    data = {"character_string1": {"value": f"B{tag}{n:08d}"}, "thing2": {"value": "316不锈钢保温杯 等2件"},
            "amount3": {"value": "¥129.00"}, "time4": {"value": "2026-11-25 14:00"}}
    if channel == "subscribe":
        return {"template_id": "BENCH_SUB_PAID", "data": {**data, "phrase5": {"value": "已支付"}},
                "page": f"pages/order/detail?no=B{tag}{n:08d}", "miniprogram_state": "formal", "lang": "zh_CN"}
    return {"template_id": "BENCH_OA_PAID", "data": data, "client_msg_id": f"order-B{tag}{n:08d}-paid",
            "miniprogram": {"appid": "wxbench000miniapp", "pagepath": f"pages/order/detail?no=B{tag}{n:08d}"}}


def _users(tag: str) -> list[tuple[str, str]]:
    """(mini-program openid, official-account openid) pairs the simulator knows."""
    from wechat_simulator import state

    pairs = []
    for n in range(CUSTOMERS):
        mini, oa = f"o_bench_mini_{tag}_{n}", f"o_bench_oa_{tag}_{n}"
        state.issue_login_code(mini)
        state.set_user(oa)
        pairs.append((mini, oa))
    return pairs


def _bare_loop(api_base: str, users, tag: str) -> float:
    """Seconds for one thread to post NOTICES bodies, each answered ok, on one session."""
    import requests

    from wxbackend.wechat import get_access_token

    tokens = {"subscribe": get_access_token("miniapp"), "template": get_access_token("mp")}
    session = requests.Session()
    started = time.perf_counter()
    for n in range(NOTICES):
        channel = "subscribe" if n % 2 == 0 else "template"
        mini, oa = users[n % CUSTOMERS]
        path = SUBSCRIBE if channel == "subscribe" else TEMPLATE
        body = {"touser": mini if channel == "subscribe" else oa, **_payload(channel, n, f"L{tag}")}
        answer = session.post(f"{api_base}/{path}", params={"access_token": tokens[channel]}, json=body,
                              timeout=10).json()
        if answer.get("errcode"):
            raise RuntimeError(f"the bare loop's post was refused: {answer}")
    return time.perf_counter() - started


def _queue_notices(users, tag: str) -> list[int]:
    """NOTICES queued notices of as many paid orders, and their outbox rows, in one go."""
    from django.db import transaction
    from django.utils import timezone

    from miniprogram_api.models import Customer
    from notifications.models import Notice
    from notifications.services import SEND_TASK
    from orders.models import Order
    from wxbackend.models import OutboxItem

    now = timezone.now()
    with transaction.atomic():
        customers = Customer.objects.bulk_create(
            [Customer(openid=mini, unionid=f"u_{mini}") for mini, _oa in users])
        orders = Order.objects.bulk_create([
            Order(order_no=f"B{tag}{n:08d}"[:32], customer=customers[n % CUSTOMERS], status="paid", total_fen=12900,
                  user_name="张三", tel_number="13800138000", province_name="广东省", city_name="广州市",
                  county_name="海珠区", detail_info="新港中路397号", paid_at=now)
            for n in range(NOTICES)
        ])
        notices = []
        for n, order in enumerate(orders):
            channel = "subscribe" if n % 2 == 0 else "template"
            mini, oa = users[n % CUSTOMERS]
            payload = _payload(channel, n, f"W{tag}")
            notices.append(Notice(order=order, customer_id=order.customer_id, event="paid", channel=channel,
                                  touser=mini if channel == "subscribe" else oa, template_id=payload["template_id"],
                                  payload=payload, client_msg_id=payload.get("client_msg_id", "")))
        notices = Notice.objects.bulk_create(notices)
        OutboxItem.objects.bulk_create([
            OutboxItem(key=f"notice:{notice.pk}:try:1", task=SEND_TASK, args=[notice.pk], available_at=now)
            for notice in notices
        ])
    return [notice.pk for notice in notices]


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    from wxbackend.celery import app

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log = (RESULTS_DIR / "worker-notices.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wxbackend", "worker", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "-n", f"bench-notices-{os.getpid()}@%h",
         *os.environ.get("BENCH_WORKER_ARGS", "").split()],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited; see {RESULTS_DIR / 'worker-notices.log'}")
        if app.control.ping(timeout=0.5):
            return worker
    _stop_worker(worker)
    raise RuntimeError("the worker did not answer a ping within 30 s")


def _stop_worker(worker: subprocess.Popen) -> None:
    """Stop the worker this benchmark started (its own process group, by id)."""
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=5)


def run(ctx: Context) -> list[Result]:
    broker = os.environ.get("CELERY_BROKER_URL") or DEFAULT_BROKER
    with ctx.server({"DJANGO_DEBUG": "1", "WECHAT_SIMULATOR": "1"}, name="simulator") as simulator:
        api_base = simulator.url + "/__sim__/api"
        ctx.django()
        from django.conf import settings

        from notifications.models import Notice
        from wechat_simulator import state
        from wxbackend.celery import app
        from wxbackend.outbox import outbox_relay

        settings.WECHAT_API_BASE = api_base
        app.conf.broker_url, app.conf.task_always_eager = broker, False
        app.control.purge()
        _forget_earlier_runs()
        tag = str(int(time.time()))[-6:]
        users = _users(tag)

        bare_seconds = _bare_loop(api_base, users, tag)

        worker = _start_worker({**ctx.env, "CELERY_BROKER_URL": broker, "WECHAT_API_BASE": api_base,
                                **({"PGOPTIONS": os.environ["BENCH_PGOPTIONS"]} if os.environ.get("BENCH_PGOPTIONS") else {})})
        try:
            ids = _queue_notices(users, tag)
            delivered_before = state.notices_delivered()
            started = time.perf_counter()
            while outbox_relay(limit=500):  # the relay's passes, until no row is due
                pass
            done = 0
            # One cheap range count four times a second: polling harder competes with the worker.
            mine = Notice.objects.filter(pk__gte=min(ids), pk__lte=max(ids), status__in=["sent", "failed"])
            while time.perf_counter() - started < DEADLINE_SECONDS:
                done = mine.count()
                if done == NOTICES:
                    break
                time.sleep(0.25)
            worker_seconds = time.perf_counter() - started
            statuses = _count_statuses(ids)
            delivered = state.notices_delivered() - delivered_before
        finally:
            _stop_worker(worker)

    bare_rate, worker_rate = NOTICES / bare_seconds, done / worker_seconds
    ratio = round(worker_rate / bare_rate, 3)
    finished = done == NOTICES and statuses.get("sent") == NOTICES and delivered == NOTICES
    return [Result(
        name=f"{NOTICES} notices: worker vs bare loop", rps=round(worker_rate, 1), p99_ms=0.0, ratio=ratio,
        baseline="bare loop of the same posts", errors=NOTICES - statuses.get("sent", 0),
        target=f"ratio >= {TARGET}, < {DEADLINE_SECONDS} s", ok=finished and ratio >= TARGET,
        notes=f"worker {worker_seconds:.1f} s, bare loop {bare_seconds:.1f} s ({bare_rate:.0f}/s); {statuses}, "
              f"{delivered} at the simulator",
    )]


def _forget_earlier_runs() -> None:
    """An interrupted run leaves due outbox rows behind; the relay publishes the oldest rows
    first, so they would be sent before (and counted against) this run's."""
    from notifications.models import Notice
    from wxbackend.models import OutboxItem

    OutboxItem.objects.filter(key__startswith="notice:", status__in=["pending", "dispatched", "running"]).update(
        status="failed", last_error="bench: left by an earlier run")
    Notice.objects.filter(status__in=["queued", "sending"]).update(status="failed", last_error="bench: earlier run")


def _count_statuses(ids: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from notifications.models import Notice

    rows = Notice.objects.filter(pk__gte=min(ids), pk__lte=max(ids)).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
