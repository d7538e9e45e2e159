"""Behaviour that depends on a real Celery worker: tasks queued after commit by a web
request run in another process, against the same database, cache and simulator."""

import pytest
from django.conf import settings

from officialaccount import crypto
from officialaccount.models import Follower
from tests.celery_worker import wait_for
from tests.officialaccount.conftest import URL, event_xml, signed_query

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _deliver_subscribe(client, openid: str):
    query = {**signed_query(token=settings.WECHAT_MP_TOKEN), "openid": openid}
    query["signature"] = crypto.sha1_signature(settings.WECHAT_MP_TOKEN, query["timestamp"], query["nonce"])
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    body = event_xml("subscribe", openid=openid).encode()
    return client.generic("POST", f"{URL}?{qs}", body, content_type="text/xml")


def test_a_worker_fetches_a_new_followers_profile_once_for_three_deliveries(
    client, wechat_sim, celery_worker_process
):
    wechat_sim.set_user("o_worker_0001", nickname="小王", unionid="u_worker_0001")

    answers = {_deliver_subscribe(client, "o_worker_0001").content for _ in range(3)}

    assert len(answers) == 1  # WeChat's retries get the first answer
    follower = wait_for(
        lambda: Follower.objects.filter(openid="o_worker_0001", profile_fetched_at__isnull=False).first()
    )
    assert follower.unionid == "u_worker_0001"
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1
