"""Reads of the inbox: the conversation list (a fixed number of queries), one
conversation's page, and the response metrics."""

import datetime
import math
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from inbox.channels import CHANNELS, channel_for
from inbox.models import CannedReply, Conversation, FirstResponse, Handoff, Note, StaffReply


def conversation_list() -> QuerySet[Conversation]:
    """Conversations with the customer's label and whether a send failed since (re)opening,
    as subqueries of the one list query. (One channel today: with several, each adapter
    adds its own annotation under a `Case` on `channel`.)"""
    channel = CHANNELS[next(iter(CHANNELS))]
    return Conversation.objects.select_related("assignee").annotate(
        contact_label=channel.label_subquery(), has_failed_send=channel.failed_send_exists(),
    )


@dataclass
class ConversationPage:
    conversation: Conversation
    person: object
    messages: list
    staff_by_message: dict
    notes: list
    canned: list
    window_left: datetime.timedelta | None
    is_reachable: bool
    customer: object = None


def conversation_page(*, conversation: Conversation, now: datetime.datetime | None = None) -> ConversationPage:
    """Everything the conversation page shows, in a fixed number of queries."""
    from inbox.person import customer_for_follower
    from inbox.services import reply_window_left

    channel = channel_for(conversation.channel)
    person = channel.person(conversation.contact)
    messages = channel.messages(conversation.contact)
    ids = [m.pk for m in messages if m.direction == "out"]
    staff = {
        r.message_id: r.staff for r in
        StaffReply.objects.filter(conversation=conversation, message_id__in=ids).select_related("staff")
    }
    return ConversationPage(
        conversation=conversation,
        person=person,
        messages=messages,
        staff_by_message=staff,
        notes=list(Note.objects.filter(conversation=conversation).select_related("author")),
        canned=list(CannedReply.objects.filter(is_active=True)),
        window_left=reply_window_left(conversation=conversation, now=now),
        is_reachable=channel.is_reachable(conversation.contact),
        customer=customer_for_follower(person),
    )


# --- metrics ----------------------------------------------------------------------------------


def median(values: list[int]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    return statistics.median(values) if values else None


def p90(values: list[int]) -> int | None:
    """The 90th percentile by nearest rank: the smallest value with at least 90% of the
    values at or below it (no interpolation, so it is always a real response time)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass
class DayRow:
    day: datetime.date
    messages: int = 0
    handed_off: int = 0
    responses: list[int] = field(default_factory=list)

    @property
    def auto_share(self) -> float | None:
        """The share of the day's customer messages a rule or product answered."""
        return (self.messages - self.handed_off) / self.messages if self.messages else None

    @property
    def median_seconds(self) -> float | None:
        return median(self.responses)

    @property
    def p90_seconds(self) -> int | None:
        return p90(self.responses)


@dataclass
class StaffRow:
    staff: object
    responses: list[int] = field(default_factory=list)

    @property
    def median_seconds(self) -> float | None:
        return median(self.responses)

    @property
    def p90_seconds(self) -> int | None:
        return p90(self.responses)


@dataclass
class Metrics:
    days: list[DayRow]
    staff: list[StaffRow]
    total: DayRow


def response_metrics(*, start: datetime.date, end: datetime.date) -> Metrics:
    """Per day (Asia/Shanghai, `start` to `end` inclusive): customer messages (not events),
    those no rule answered, and first-response times (by the day the conversation opened);
    per staff member the same times. Three queries, whatever the range."""
    from officialaccount.models import Message

    tz = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=tz)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    days = {start + datetime.timedelta(days=i): DayRow(day=start + datetime.timedelta(days=i))
            for i in range((end - start).days + 1)}
    counted = (
        Message.objects.filter(direction=Message.Direction.INBOUND, created_at__gte=since, created_at__lt=until)
        .exclude(msg_type="event").annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day").annotate(n=Count("id"))
    )
    for row in counted:
        days[row["day"]].messages = row["n"]
    handed = (
        Handoff.objects.filter(at__gte=since, at__lt=until).annotate(day=TruncDate("at", tzinfo=tz))
        .values("day").annotate(n=Count("id"))
    )
    for row in handed:
        days[row["day"]].handed_off = row["n"]
    staff: dict[int | None, StaffRow] = {}
    total = DayRow(day=start)
    responses = FirstResponse.objects.filter(opened_at__gte=since, opened_at__lt=until).select_related("responder")
    for response in responses.order_by("opened_at", "id"):
        days[timezone.localtime(response.opened_at, tz).date()].responses.append(response.seconds)
        staff.setdefault(response.responder_id, StaffRow(staff=response.responder)).responses.append(response.seconds)
        total.responses.append(response.seconds)
    total.messages = sum(d.messages for d in days.values())
    total.handed_off = sum(d.handed_off for d in days.values())
    ordered_staff = sorted(staff.values(), key=lambda s: (s.staff is None, str(s.staff or "")))
    return Metrics(days=list(days.values()), staff=ordered_staff, total=total)
