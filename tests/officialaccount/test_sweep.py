"""The last-interaction sweep: a watermark that only passes settled messages, so a message
committed out of id order is never skipped (see also test_adversarial_concurrency)."""

import datetime

import pytest
from django.core.cache import cache
from django.utils import timezone

from officialaccount import services
from officialaccount.models import Follower, Message

pytestmark = pytest.mark.django_db


def _inbound(openid: str, key: str, *, at: datetime.datetime, pk: int | None = None) -> Message:
    return Message.objects.create(pk=pk, direction="in", openid=openid, dedupe_key=key, msg_type="text",
                                  content="hi", created_at=at)


def test_a_lower_id_that_appears_after_a_sweep_is_still_read(wechat_sim):
    now = timezone.now()
    gap = _inbound("o_gap", "m:1", at=now)
    b = _inbound("o_b", "m:2", at=now)
    gap_pk = gap.pk
    gap.delete()  # stands for an INSERT that took its id and has not committed yet
    assert services.follower_interactions_sweep(now=now) == 1
    _inbound("o_late", "m:3", at=now, pk=gap_pk)  # ... commits now, below the id already read
    assert services.follower_interactions_sweep(now=now + datetime.timedelta(seconds=60)) == 1
    assert Follower.objects.get(openid="o_late").last_interaction_at == now
    later = now + datetime.timedelta(seconds=services.SWEEP_SETTLE_SECONDS + 1)
    assert services.follower_interactions_sweep(now=later) == 0
    assert cache.get(services.SWEEP_WATERMARK_KEY) == b.pk  # settled: not read again


def test_without_a_watermark_the_sweep_looks_back_48_hours(wechat_sim):
    now = timezone.now()
    _inbound("o_old", "m:10", at=now - datetime.timedelta(hours=72))
    _inbound("o_new", "m:11", at=now - datetime.timedelta(hours=1))
    assert services.follower_interactions_sweep(now=now) == 1
    assert list(Follower.objects.values_list("openid", flat=True)) == ["o_new"]


def test_a_later_message_moves_the_last_interaction_forward_only(wechat_sim):
    now = timezone.now()
    Follower.objects.create(openid="o_f", last_interaction_at=now)
    _inbound("o_f", "m:20", at=now - datetime.timedelta(minutes=5))  # an event already recorded later
    assert services.follower_interactions_sweep(now=now) == 0
    assert Follower.objects.get().last_interaction_at == now
