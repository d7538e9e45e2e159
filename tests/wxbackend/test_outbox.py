"""The outbox: side effects commit with the change that caused them, run once, and come back
after a transient failure or a worker that died. (Broker outages: test_broker_outage.py.)"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from officialaccount.models import Follower
from officialaccount.tasks import follower_profile_fetch_task
from wxbackend import outbox
from wxbackend.models import OutboxItem

pytestmark = pytest.mark.django_db(transaction=True)


def _put(openid: str) -> None:
    Follower.objects.get_or_create(openid=openid)
    with transaction.atomic():
        outbox.outbox_put(task=follower_profile_fetch_task, args=[openid], key=f"oa.profile:{openid}")


def test_a_side_effect_runs_after_commit_once_per_key(wechat_sim):
    wechat_sim.set_user("o_box_1", nickname="")
    _put("o_box_1")
    _put("o_box_1")  # the same key again: ignored
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1
    item = OutboxItem.objects.get()
    assert (item.status, item.attempts) == ("done", 1)
    assert Follower.objects.get(openid="o_box_1").profile_fetched_at is not None


def test_a_rolled_back_transaction_leaves_no_side_effect(wechat_sim):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.outbox_put(task=follower_profile_fetch_task, args=["o_box_2"], key="oa.profile:o_box_2")
        raise RuntimeError("the request failed")
    assert OutboxItem.objects.count() == 0
    assert wechat_sim.calls("cgi-bin/user/info") == []


def test_a_transient_failure_is_retried_later_with_backoff(wechat_sim):
    wechat_sim.set_user("o_box_3")
    wechat_sim.fail_next("cgi-bin/user/info", -1, "system busy")
    before = timezone.now()
    _put("o_box_3")
    item = OutboxItem.objects.get()
    assert (item.status, item.attempts) == ("pending", 1)
    assert "system busy" in item.last_error or "-1" in item.last_error
    assert item.available_at >= before + datetime.timedelta(seconds=2)  # backed off, not hammered
    assert outbox.outbox_relay() == 0  # not due yet

    OutboxItem.objects.update(available_at=timezone.now())
    assert outbox.outbox_relay() == 1
    item.refresh_from_db()
    assert (item.status, item.attempts, item.last_error) == ("done", 2, "")
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 2


def test_a_permanent_refusal_fails_the_row_for_staff_to_see(wechat_sim, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    wechat_sim.set_user("o_box_4")
    wechat_sim.fail_next("cgi-bin/user/info", -1, "system busy", times=5)
    _put("o_box_4")
    OutboxItem.objects.update(available_at=timezone.now())
    outbox.outbox_relay()
    item = OutboxItem.objects.get()
    assert (item.status, item.attempts) == ("failed", 2)
    assert "gave up after 2 tries" in item.last_error


def test_a_row_published_twice_runs_once(wechat_sim):
    wechat_sim.set_user("o_box_5")
    _put("o_box_5")
    item = OutboxItem.objects.get()
    assert outbox.outbox_item_run(item_id=item.pk) == "skipped"  # a duplicate delivery
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1


def test_a_row_whose_worker_died_is_run_again_after_its_deadline(wechat_sim):
    wechat_sim.set_user("o_box_6")
    Follower.objects.create(openid="o_box_6")
    item = OutboxItem.objects.create(
        key="oa.profile:o_box_6", task=follower_profile_fetch_task.name, args=["o_box_6"],
        status=OutboxItem.Status.RUNNING, attempts=1, available_at=timezone.now() + datetime.timedelta(minutes=5),
    )
    assert outbox.outbox_relay() == 0  # still within its run deadline
    assert outbox.outbox_item_run(item_id=item.pk) == "skipped"
    OutboxItem.objects.update(available_at=timezone.now() - datetime.timedelta(seconds=1))
    assert outbox.outbox_relay() == 1
    item.refresh_from_db()
    assert (item.status, item.attempts) == ("done", 2)
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1


def test_done_rows_are_purged_after_a_week_failed_rows_stay():
    old = timezone.now() - datetime.timedelta(days=8)
    OutboxItem.objects.create(key="a", task="t", status="done", done_at=old, available_at=old)
    OutboxItem.objects.create(key="b", task="t", status="failed", available_at=old)
    OutboxItem.objects.create(key="c", task="t", status="done", done_at=timezone.now(), available_at=old)
    assert outbox.outbox_purge() == 1
    assert sorted(OutboxItem.objects.values_list("key", flat=True)) == ["b", "c"]


def test_staff_retry_failed_rows_only_with_the_change_permission(client, wechat_sim):
    wechat_sim.set_user("o_box_7")
    Follower.objects.create(openid="o_box_7")
    item = OutboxItem.objects.create(key="oa.profile:o_box_7", task=follower_profile_fetch_task.name,
                                     args=["o_box_7"], status="failed", attempts=8, available_at=timezone.now())
    viewer = get_user_model().objects.create_user("viewer", password="pw-123456-long", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxitem"))
    client.force_login(viewer)
    url = reverse("admin:wxbackend_outboxitem_changelist")
    page = client.get(url)
    assert page.status_code == 200 and "oa.profile:o_box_7" in page.content.decode()
    client.post(url, {"action": "retry", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.status == "failed"  # the action is not offered to view-only staff

    viewer.user_permissions.add(Permission.objects.get(codename="change_outboxitem"))
    client.post(url, {"action": "retry", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.status == "done"
    assert len(wechat_sim.calls("cgi-bin/user/info")) == 1
