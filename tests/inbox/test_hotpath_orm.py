"""The ORM path (databases without data-modifying CTEs, e.g. SQLite under `make run`) does
what the callback's CTEs do on PostgreSQL."""

import datetime

import pytest
from django.utils import timezone

from inbox.hotpath import OPEN, TOUCH, conversation_inbound
from inbox.models import Conversation, Handoff

pytestmark = pytest.mark.django_db


def test_open_touch_and_reopen_like_the_ctes():
    t0 = timezone.now()
    conversation_inbound(channel="wechat_mp", contact="o_a", message_id=1, at=t0, mode=TOUCH)
    assert not Conversation.objects.exists()  # a rule-answered message opens nothing
    conversation_inbound(channel="wechat_mp", contact="o_a", message_id=2, at=t0, mode=OPEN)
    t1 = t0 + datetime.timedelta(minutes=1)
    conversation_inbound(channel="wechat_mp", contact="o_a", message_id=3, at=t1, mode=TOUCH)
    c = Conversation.objects.get()
    assert (c.state, c.unread_count, c.opened_at, c.last_inbound_at) == ("open", 2, t0, t1)
    Conversation.objects.update(state="closed", first_response_at=t1)
    t2 = t1 + datetime.timedelta(hours=1)
    conversation_inbound(channel="wechat_mp", contact="o_a", message_id=4, at=t2, mode=TOUCH)
    assert Conversation.objects.get().unread_count == 2  # closed: not counted
    conversation_inbound(channel="wechat_mp", contact="o_a", message_id=5, at=t2, mode=OPEN)
    c.refresh_from_db()
    assert (c.state, c.unread_count, c.opened_at, c.first_response_at) == ("open", 3, t2, None)
    assert sorted(Handoff.objects.values_list("message_id", flat=True)) == [2, 5]
