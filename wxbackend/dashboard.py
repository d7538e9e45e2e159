"""The merchant's dashboard on the admin's index: today's paid orders and takings (a Beijing
day), orders waiting to ship, refund requests waiting, open conversations, and the last 30
days as a server-drawn SVG picture (no script, nothing from a CDN).

Four queries whatever the data: the 30 days grouped by day (today's figures are its last
day), orders to ship, open refund requests, open conversations. Each figure is shown only to
staff who may view what it counts."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from catalog.money import yuan
from wxbackend.svg import nice_max

BEIJING = ZoneInfo("Asia/Shanghai")
DAYS = 30
# Without an inbox, a follower's message counts as waiting while WeChat still lets staff
# answer it (customer-service messages: 48 hours after the follower's last message).
REPLY_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class Day:
    day: date
    orders: int
    takings_fen: int


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    url: str


def beijing_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BEIJING)


def daily_sales(*, today: date, days: int = DAYS) -> list[Day]:
    """Orders paid and their takings (fen) per Beijing day, oldest first, `days` days up to
    and including `today`; days without sales are zeros. One query.

    Bounded on `created_at` (indexed) as well as `paid_at`: an unpaid order closes after
    ORDER_PAYMENT_TIMEOUT_MINUTES, so one paid in the window was created at most a day or
    that timeout before it."""
    from orders.models import Order

    first = today - timedelta(days=days - 1)
    start = beijing_day_start(first)
    margin = max(timedelta(days=1), timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES))
    rows = (
        Order.objects.filter(created_at__gte=start - margin, paid_at__gte=start)
        .annotate(day=TruncDate("paid_at", tzinfo=BEIJING))
        .values("day")
        .annotate(orders=Count("pk"), takings=Sum("total_fen"))
        .order_by()
    )
    found = {row["day"]: row for row in rows}
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = found.get(day)
        series.append(Day(day, row["orders"] if row else 0, (row["takings"] or 0) if row else 0))
    return series


def open_conversations() -> tuple[int, str]:
    """(count, admin URL): open inbox conversations when the inbox is installed; otherwise
    followers whose message within the reply window got no reply (neither a rule's passive
    reply nor a message from staff after it)."""
    if apps.is_installed("inbox"):
        conversation = apps.get_model("inbox", "Conversation")
        count = conversation.objects.filter(state="open").count()
        return count, reverse("admin:inbox_conversation_changelist") + "?state__exact=open"
    from officialaccount.models import Message

    later_reply = Message.objects.filter(
        openid=OuterRef("openid"), direction=Message.Direction.OUTBOUND, created_at__gte=OuterRef("created_at"))
    count = (
        Message.objects.filter(direction=Message.Direction.INBOUND, reply_kind="",
                               created_at__gte=timezone.now() - REPLY_WINDOW)
        .exclude(msg_type="event")
        .filter(~Exists(later_reply))
        .values("openid").distinct().count()
    )
    return count, reverse("admin:officialaccount_message_changelist") + "?direction__exact=in"


def dashboard(user, *, now: datetime | None = None) -> dict | None:
    """The index page's context: cards and chart for what `user` may view, or None."""
    from orders.models import Order, RefundRequest

    today = timezone.localtime(now or timezone.now(), BEIJING).date()
    cards: list[Card] = []
    chart = ""
    if user.has_perm("orders.view_order"):
        series = daily_sales(today=today)
        orders_url = reverse("admin:orders_order_changelist")
        cards.append(Card(gettext("Orders paid today"), str(series[-1].orders), orders_url))
        cards.append(Card(gettext("Takings today"), yuan(series[-1].takings_fen), orders_url))
        to_ship = Order.objects.filter(status=Order.Status.PAID).count()
        cards.append(Card(gettext("Orders to ship"), str(to_ship), f"{orders_url}?status__exact=paid"))
        chart = sales_svg(series)
    if user.has_perm("orders.view_refundrequest"):
        waiting = RefundRequest.objects.filter(status=RefundRequest.Status.OPEN).count()
        url = reverse("admin:orders_refundrequest_changelist") + "?status__exact=open"
        cards.append(Card(gettext("Refund requests waiting"), str(waiting), url))
    if user.has_perm("inbox.view_conversation" if apps.is_installed("inbox") else "officialaccount.view_message"):
        count, url = open_conversations()
        cards.append(Card(gettext("Open conversations"), str(count), url))
    if not cards:
        return None
    return {"cards": cards, "chart": chart, "today": today}


# --- The chart ------------------------------------------------------------------------------

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 70, 50, 30, 45



def sales_svg(series: list[Day]) -> str:
    """Bars: each day's takings (¥, left scale). Dots joined by a line: orders paid (right
    scale). Every bar carries a tooltip with the day's exact figures."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    max_fen = nice_max(max((d.takings_fen for d in series), default=0) / 100) * 100
    max_orders = nice_max(max((d.orders for d in series), default=0))
    slot = plot_w / max(len(series), 1)
    bar = max(slot * 0.62, 1)
    base = TOP + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sales-chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11" role="img" '
        f'aria-label="{escape(gettext("Orders and takings, last 30 days"))}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<line x1="{LEFT}" y1="{base}" x2="{LEFT + plot_w}" y2="{base}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h / 2:.1f}" x2="{LEFT + plot_w}" y2="{TOP + plot_h / 2:.1f}" '
        f'stroke="#ddd" stroke-dasharray="3,3"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{escape(yuan(int(max_fen)))}</text>',
        f'<text x="{LEFT - 6}" y="{base}" text-anchor="end">¥0</text>',
        f'<text x="{LEFT + plot_w + 6}" y="{TOP + 4}" fill="#c0392b">{max_orders:g}</text>',
        f'<text x="{LEFT + plot_w + 6}" y="{base}" fill="#c0392b">0</text>',
        f'<text x="{LEFT}" y="{TOP - 12}">{escape(gettext("Takings per day"))}</text>',
        f'<text x="{LEFT + plot_w}" y="{TOP - 12}" text-anchor="end" fill="#c0392b">'
        f'{escape(gettext("Orders paid"))}</text>',
    ]
    points = []
    for i, day in enumerate(series):
        x = LEFT + i * slot + (slot - bar) / 2
        height = plot_h * day.takings_fen / max_fen
        title = gettext("%(day)s: %(orders)d orders, %(takings)s") % {
            "day": day.day.isoformat(), "orders": day.orders, "takings": yuan(day.takings_fen)}
        parts.append(f'<g class="day" data-day="{day.day.isoformat()}" data-orders="{day.orders}" '
                     f'data-takings-fen="{day.takings_fen}"><title>{escape(title)}</title>'
                     f'<rect x="{x:.1f}" y="{base - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                     f'fill="#79aec8"/></g>')
        if i % 5 == (len(series) - 1) % 5:  # today and every fifth day before it
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{base + 16}" text-anchor="middle">'
                         f'{day.day:%m-%d}</text>')
        points.append((x + bar / 2, base - plot_h * day.orders / max_orders))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#c0392b"/>' for x, y in points)
    parts.append("</svg>")
    return "".join(parts)
