"""The inbox pages: the list in a constant number of queries, notes, assignment, states;
and many messages from one follower at once are all counted in one conversation."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse

from inbox.models import Conversation, Handoff, Note
from officialaccount.models import Follower, Message
from tests.officialaccount.conftest import post_plain, text_xml

pytestmark = pytest.mark.django_db


def _conversations(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        Follower.objects.create(openid=f"o_{i}", remark=f"客户{i}", is_subscribed=True)
        Message.objects.create(direction="out", openid=f"o_{i}", dedupe_key=f"x:{i}", msg_type="text",
                               status="failed", error="45015: out of time")
        Conversation.objects.create(contact=f"o_{i}", unread_count=i)


def test_the_list_has_constant_queries(staff_client, django_assert_max_num_queries):
    url = reverse("admin:inbox_conversation_changelist")
    _conversations(2)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        staff_client.get(url)
    _conversations(20, start=2)
    with django_assert_max_num_queries(len(few)):
        page = staff_client.get(url).content.decode()
    assert "客户21" in page and "响应指标" in page


def test_opening_a_conversation_marks_it_read(staff_client):
    conversation = Conversation.objects.create(contact="o_x", unread_count=3)
    staff_client.get(reverse("admin:inbox_conversation_change", args=[conversation.pk]))
    conversation.refresh_from_db()
    assert conversation.unread_count == 0 and conversation.last_read_at is not None


def test_notes_assignment_and_state(staff_client, boss):
    conversation = Conversation.objects.create(contact="o_x")
    url = reverse("admin:inbox_conversation_change", args=[conversation.pk])
    staff_client.post(url, {"do": "note", "note": "客户要发票"})
    staff_client.post(url, {"do": "assign", "assignee": boss.pk})
    staff_client.post(url, {"do": "state", "state": "closed"})
    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.state) == (boss, "closed")
    assert conversation.closed_at is not None
    assert Note.objects.get().author == boss
    page = staff_client.get(url).content.decode()
    assert "客户要发票" in page and "已关闭" in page


def test_bad_posts_are_refused_clearly(staff_client):
    conversation = Conversation.objects.create(contact="o_x")
    url = reverse("admin:inbox_conversation_change", args=[conversation.pk])
    assert staff_client.post(url, {"do": "state", "state": "deleted"}).status_code == 200
    assert staff_client.post(url, {"do": "nonsense"}).status_code == 302
    assert staff_client.post(url, {"do": "note", "note": ""}).status_code == 200
    conversation.refresh_from_db()
    assert conversation.state == "open" and not Note.objects.exists()


def test_staff_can_start_a_conversation_from_the_follower(staff_client):
    Follower.objects.create(openid="o_new", is_subscribed=True)
    response = staff_client.get(reverse("admin:inbox_conversation_start", args=["wechat_mp", "o_new"]))
    conversation = Conversation.objects.get()
    assert response["Location"] == reverse("admin:inbox_conversation_change", args=[conversation.pk])
    assert conversation.state == "pending"  # staff wrote first: no wait to measure
    assert staff_client.get(reverse("admin:inbox_conversation_start", args=["sms", "o_new"])).status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_messages_of_one_follower_all_count(plain_mode):
    """Eight unanswered messages of one follower arrive at once (eight threads, eight
    connections): one conversation, eight unread, eight hand-offs."""
    from django.test import Client

    def send(n: int) -> int:
        try:
            return post_plain(Client(), text_xml(f"问题{n}", msg_id=9000 + n, openid="o_busy")).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(8))) == [200] * 8
    conversation = Conversation.objects.get()
    assert conversation.unread_count == 8
    assert Handoff.objects.filter(conversation=conversation).count() == 8


@pytest.mark.parametrize(("group", "inbox", "person"), [("客服", 200, 200), ("运营", 403, 403), ("财务", 403, 403)])
def test_only_customer_service_works_the_inbox(client, django_user_model, group, inbox, person):
    from django.contrib.auth.models import Group

    from tests.factories import CustomerFactory

    user = django_user_model.objects.create_user(f"u_{group}", password="pw-123456-long", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    conversation = Conversation.objects.create(contact="o_x")
    assert client.get(reverse("admin:inbox_conversation_changelist")).status_code == inbox
    assert client.get(reverse("admin:inbox_conversation_change", args=[conversation.pk])).status_code == inbox
    assert client.get(reverse("admin:inbox_conversation_metrics")).status_code == inbox
    customer = CustomerFactory()
    assert client.get(reverse("admin:inbox_customer_person", args=[customer.pk])).status_code == person


def test_demo_data_loads_canned_replies_idempotently():
    import io

    from django.core.management import call_command

    from inbox.models import CannedReply

    call_command("demo_data", stdout=io.StringIO())
    call_command("demo_data", stdout=io.StringIO())
    assert CannedReply.objects.filter(title="发货时间").count() == 1
    assert CannedReply.objects.count() == 3


def _thread(openid: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        Message.objects.create(direction="in", openid=openid, dedupe_key=f"m:{openid}:{i}", msg_type="text",
                               content=f"问{i}")
        Message.objects.create(direction="out", openid=openid, dedupe_key=f"cs:{openid}:{i}", msg_type="text",
                               content=f"答{i}", status="sent")


def test_the_conversation_page_has_constant_queries(staff_client, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    from inbox.models import CannedReply, StaffReply

    Follower.objects.create(openid="o_t", unionid="u_t", is_subscribed=True)
    conversation = Conversation.objects.create(contact="o_t")
    url = reverse("admin:inbox_conversation_change", args=[conversation.pk])
    _thread("o_t", 2)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(url)
    _thread("o_t", 40, start=2)
    for i, message in enumerate(Message.objects.filter(direction="out")):
        StaffReply.objects.create(conversation=conversation, message_id=message.pk)
        Note.objects.create(conversation=conversation, text=f"备注{i}")
        CannedReply.objects.create(title=f"快捷{i}", text="x")
    with django_assert_max_num_queries(len(few)):
        page = staff_client.get(url).content.decode()
    assert "问41" in page and "备注41" in page


def test_the_metrics_page_costs_the_same_for_two_days_and_ninety(staff_client, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:inbox_conversation_metrics")
    with CaptureQueriesContext(connection) as two:
        staff_client.get(url, {"start": "2026-11-01", "end": "2026-11-02"})
    with django_assert_max_num_queries(len(two)):
        staff_client.get(url, {"start": "2026-08-05", "end": "2026-11-02"})


def test_the_list_finds_a_conversation_by_remark_or_openid(staff_client):
    _conversations(3)
    url = reverse("admin:inbox_conversation_changelist")
    by_remark = staff_client.get(url, {"q": "客户1"}).context["cl"].result_list
    assert sorted(c.contact for c in by_remark) == ["o_1"]
    assert [c.contact for c in staff_client.get(url, {"q": "o_2"}).context["cl"].result_list] == ["o_2"]
