"""Response metrics on a fixed data set equal the values worked out by hand; the chart is
an SVG picture served by us (nothing from another host)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from inbox.models import Conversation, FirstResponse, Handoff
from inbox.selectors import p90, response_metrics
from officialaccount.models import Message

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
DAY1, DAY2 = datetime.date(2026, 11, 2), datetime.date(2026, 11, 3)


def at(day: datetime.date, hh: int, mm: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hh, mm), tzinfo=SH)


def _message(n: int, when: datetime.datetime, msg_type: str = "text") -> Message:
    return Message.objects.create(direction="in", openid=f"o_{n}", dedupe_key=f"m:{n}", msg_type=msg_type,
                                  event="subscribe" if msg_type == "event" else "", created_at=when)


@pytest.fixture
def data_set():
    """Day 1: four customer messages (one at 23:30 Beijing time, which is day 1 although
    it is 15:30 UTC), an event (not a message), one message handed to staff; first
    responses of 60 s and 300 s (Ann), 120 s and 600 s (Bob). Day 2: no message, one first
    response of 30 s (Ann). Outside the range: a message at 23:59 the day before."""
    users = get_user_model().objects
    ann, bob = users.create_user("ann", is_staff=True), users.create_user("bob", is_staff=True)
    _message(1, at(DAY1, 9))
    _message(2, at(DAY1, 10))
    _message(3, at(DAY1, 11))
    handed = _message(4, at(DAY1, 23, 30))
    _message(5, at(DAY1, 12), msg_type="event")
    _message(6, at(DAY1 - datetime.timedelta(days=1), 23, 59))
    for n, (staff, opened, seconds) in enumerate([
        (ann, at(DAY1, 9), 60), (bob, at(DAY1, 10), 120), (ann, at(DAY1, 11), 300), (bob, at(DAY1, 23, 30), 600),
        (ann, at(DAY2, 8), 30),
    ]):
        conversation = Conversation.objects.create(contact=f"o_c{n}", opened_at=opened)
        FirstResponse.objects.create(conversation=conversation, opened_at=opened, responder=staff, seconds=seconds,
                                     responded_at=opened + datetime.timedelta(seconds=seconds))
    Handoff.objects.create(conversation=Conversation.objects.first(), channel="wechat_mp", message_id=handed.pk,
                           at=handed.created_at)
    return ann, bob


def test_per_day_and_per_staff_values_match_the_hand_computed_ones(data_set):
    ann, bob = data_set
    metrics = response_metrics(start=DAY1, end=DAY2)
    day1, day2 = metrics.days
    assert (day1.day, day1.messages, day1.handed_off, day1.auto_share) == (DAY1, 4, 1, 0.75)
    assert (day1.median_seconds, day1.p90_seconds) == (210, 600)  # (120+300)/2; rank ceil(3.6)=4
    assert (day2.messages, day2.auto_share, day2.median_seconds, day2.p90_seconds) == (0, None, 30, 30)
    by_staff = {row.staff: row for row in metrics.staff}
    assert (by_staff[ann].median_seconds, by_staff[ann].p90_seconds) == (60, 300)  # 30, 60, 300
    assert (by_staff[bob].median_seconds, by_staff[bob].p90_seconds) == (360, 600)  # 120, 600
    assert (metrics.total.messages, metrics.total.auto_share, metrics.total.median_seconds) == (4, 0.75, 120)


def test_p90_is_the_nearest_rank():
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(1, 12))) == 10
    assert p90([]) is None


def test_the_metrics_page_shows_tables_and_the_chart(staff_client, data_set):
    url = reverse("admin:inbox_conversation_metrics")
    page = staff_client.get(url, {"start": DAY1.isoformat(), "end": DAY2.isoformat()}).content.decode()
    assert "75.0%" in page and "3 分 30 秒" in page and "10 分 00 秒" in page
    assert 'src="/admin/inbox/conversation/metrics/chart.svg?start=2026-11-02&amp;end=2026-11-03"' in page
    chart = staff_client.get(reverse("admin:inbox_conversation_chart"), {"start": "2026-11-02", "end": "2026-11-03"})
    assert chart["Content-Type"].startswith("image/svg+xml")
    svg = chart.content.decode()
    assert svg.startswith("<svg") and "<polyline" in svg and "11-02" in svg
    assert "href" not in svg and "<script" not in svg


@pytest.mark.parametrize("query", [{"start": "2026-11-05", "end": "2026-11-01"}, {"start": "x", "end": "y"},
                                   {"start": "2020-01-01", "end": "2026-01-01"}])
def test_a_bad_range_falls_back_to_the_last_two_weeks(staff_client, query):
    response = staff_client.get(reverse("admin:inbox_conversation_metrics"), query)
    assert response.status_code == 200
    assert len(response.context["metrics"].days) == 14
