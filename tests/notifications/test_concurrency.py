"""Two runs of one notice (a requeue racing a late first run, a message the broker handed
out twice) send it once: the claim is one conditional UPDATE on the row."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from notifications.models import Notice
from notifications.services import notice_send
from tests.notifications.conftest import S, grant, move, new_order

SUBSCRIBE = "cgi-bin/message/subscribe/send"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_runs_of_one_notice_send_it_once(wechat_sim, notice_templates, shopper):
    grant(shopper, "paid")
    order = move(new_order(shopper), S.PAID)  # in-process: sent at commit
    notice = Notice.objects.get(order=order)
    Notice.objects.filter(pk=notice.pk).update(status="queued", attempts=0, sent_at=None)
    wechat_sim.fail_next(SUBSCRIBE, 0, delay=0.3)  # the winner's post takes a while
    start = threading.Barrier(8)

    def run(_):
        start.wait()
        try:
            return notice_send(notice_id=notice.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(run, range(8)))

    assert outcomes == ["sent"] + ["skipped"] * 7
    assert len(wechat_sim.calls(SUBSCRIBE)) == 2  # the first send at commit, then one of the eight
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("sent", 1)
