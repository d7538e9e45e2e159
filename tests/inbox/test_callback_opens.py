"""A message no rule answers opens (or reopens) the customer's conversation, in the
callback's one SQL statement; a message a rule answers only counts as unread in an open one;
a retried delivery changes nothing."""

import datetime

import pytest
from django.utils import timezone

from inbox.models import Conversation, Handoff
from officialaccount.models import AutoReplySettings, Message, ReplyRule
from tests.officialaccount.conftest import event_xml, post_plain, text_xml

pytestmark = pytest.mark.django_db


@pytest.fixture
def hello_rule():
    return ReplyRule.objects.create(name="hi", keyword="你好", text="您好，欢迎光临")


def test_an_unanswered_message_opens_a_conversation_with_a_handoff(client, plain_mode, hello_rule):
    post_plain(client, text_xml("我的快递到哪了", msg_id=1, openid="o_a"))
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.contact, conversation.state, conversation.unread_count) == (
        "wechat_mp", "o_a", "open", 1)
    handoff = Handoff.objects.get()
    assert handoff.message_id == Message.objects.get().pk
    assert handoff.conversation == conversation


def test_a_retried_delivery_counts_once(client, plain_mode):
    for _ in range(3):
        post_plain(client, text_xml("在吗", msg_id=2, openid="o_a"))
    assert Conversation.objects.get().unread_count == 1
    assert Handoff.objects.count() == 1


def test_a_rule_answered_message_opens_nothing_but_counts_in_an_open_conversation(client, plain_mode, hello_rule):
    post_plain(client, text_xml("你好", msg_id=3, openid="o_a"))
    assert not Conversation.objects.exists()
    post_plain(client, text_xml("退货怎么办", msg_id=4, openid="o_a"))
    post_plain(client, text_xml("你好", msg_id=5, openid="o_a"))
    conversation = Conversation.objects.get()
    assert conversation.unread_count == 2
    assert Handoff.objects.count() == 1  # only the unanswered one went to staff


def test_a_default_reply_still_hands_the_message_to_staff(client, plain_mode):
    AutoReplySettings.objects.create(default_reply_text="客服稍后回复您")
    response = post_plain(client, text_xml("发票怎么开", msg_id=6, openid="o_a"))
    assert "客服稍后回复您" in response.content.decode()
    assert Conversation.objects.get().state == "open"


def test_events_open_nothing(client, plain_mode):
    post_plain(client, event_xml("subscribe", openid="o_a"))
    post_plain(client, event_xml("CLICK", openid="o_a", event_key="NONE", create_time=1764057601))
    assert not Conversation.objects.exists()


def test_a_closed_conversation_reopens_as_a_new_wait(client, plain_mode):
    post_plain(client, text_xml("第一次", msg_id=7, openid="o_a"))
    old = Conversation.objects.get()
    earlier = timezone.now() - datetime.timedelta(days=1)
    Conversation.objects.filter(pk=old.pk).update(
        state="closed", closed_at=earlier, opened_at=earlier, first_response_at=earlier, unread_count=0)
    post_plain(client, text_xml("又有问题", msg_id=8, openid="o_a"))
    reopened = Conversation.objects.get()
    assert (reopened.state, reopened.unread_count, reopened.closed_at, reopened.first_response_at) == (
        "open", 1, None, None)
    assert reopened.opened_at > earlier


def test_a_pending_conversation_reopens_without_restarting_its_wait(client, plain_mode):
    post_plain(client, text_xml("第一次", msg_id=9, openid="o_a"))
    answered = timezone.now()
    Conversation.objects.update(state="pending", first_response_at=answered, unread_count=0)
    opened_at = Conversation.objects.get().opened_at
    post_plain(client, text_xml("谢谢，还有一个问题", msg_id=10, openid="o_a"))
    conversation = Conversation.objects.get()
    assert (conversation.state, conversation.opened_at, conversation.first_response_at) == (
        "open", opened_at, answered)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unanswered_message_still_costs_one_sql_statement(client, plain_mode, hello_rule,
                                                              django_assert_num_queries):
    post_plain(client, text_xml("在吗", msg_id=11, openid="o_a"))  # warms the rule and product caches
    with django_assert_num_queries(1):
        post_plain(client, text_xml("人工客服", msg_id=12, openid="o_a"))
    with django_assert_num_queries(1):
        post_plain(client, text_xml("你好", msg_id=13, openid="o_a"))  # touches the open one
    assert Conversation.objects.get().unread_count == 3
