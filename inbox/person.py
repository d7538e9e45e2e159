"""One customer: the mini-program customer and the official-account follower with the same
unionid shown as one person, with orders, conversations, notices and subscriptions.

Each part is a section provider in `PERSON_SECTIONS`: a callable taking the customer and
follower (either may be None) and returning a `Section`. Another app adds its part by
appending a provider; the notices section reads `notifications.Notice` when that model
exists with a customer foreign key, and says so otherwise."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from catalog.money import yuan
from inbox.models import Channel, Conversation

ROWS_PER_SECTION = 50


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""  # why the section is empty or partial


@dataclass
class Person:
    customer: object
    follower: object
    sections: list[Section]


def _when(value) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i") if value else "-"


def _admin_url(name: str, pk) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def orders_section(customer, follower) -> Section:
    section = Section("orders", gettext("Orders"), [gettext("Order number"), gettext("Status"), gettext("Total"),
                                                     gettext("Ordered at")])
    if customer is None:
        section.note = gettext("No mini-program customer with this unionid.")
        return section
    from orders.models import Order

    for order in Order.objects.filter(customer=customer).order_by("-created_at", "-id")[:ROWS_PER_SECTION]:
        section.rows.append([Cell(order.order_no, _admin_url("admin:orders_order_change", order.pk)),
                             Cell(order.get_status_display()), Cell(yuan(order.total_fen)), Cell(_when(order.created_at))])
    return section


def conversations_section(customer, follower) -> Section:
    section = Section("conversations", gettext("Conversations"), [gettext("Channel"), gettext("State"),
                                                                   gettext("Unread"), gettext("Last customer message")])
    if follower is None:
        section.note = gettext("Not linked to an official-account follower (no shared unionid).")
        return section
    for c in Conversation.objects.filter(channel=Channel.WECHAT_MP, contact=follower.openid):
        section.rows.append([Cell(c.get_channel_display(), _admin_url("admin:inbox_conversation_change", c.pk)),
                             Cell(c.get_state_display()), Cell(str(c.unread_count)), Cell(_when(c.last_inbound_at))])
    if not section.rows:
        section.note = gettext("No conversation yet.")
    return section


def _notice_model():
    """`notifications.Notice` if it exists with a foreign key to the customer, else None."""
    try:
        model = apps.get_model("notifications", "Notice")
    except LookupError:
        return None
    fk = next((f for f in model._meta.get_fields() if f.name == "customer" and f.is_relation), None)
    return model if fk is not None else None


def notices_section(customer, follower) -> Section:
    section = Section("notices", gettext("Notices"), [gettext("Notice"), gettext("Status"), gettext("Created")])
    model = _notice_model()
    if model is None:
        section.note = gettext("The notifications app has no notice model with a customer yet.")
        return section
    if customer is None:
        section.note = gettext("No mini-program customer with this unionid.")
        return section
    ordering = "-created_at" if any(f.name == "created_at" for f in model._meta.get_fields()) else "-pk"
    for notice in model.objects.filter(customer=customer).order_by(ordering)[:ROWS_PER_SECTION]:
        status = notice.get_status_display() if hasattr(notice, "get_status_display") else ""
        section.rows.append([Cell(str(notice), _admin_url("admin:notifications_notice_change", notice.pk)),
                             Cell(status), Cell(_when(getattr(notice, "created_at", None)))])
    return section


def subscriptions_section(customer, follower) -> Section:
    section = Section("subscriptions", gettext("Subscriptions"), [gettext("Template"), gettext("Sends available"),
                                                                   gettext("Last answer")])
    if customer is None:
        section.note = gettext("No mini-program customer with this unionid.")
        return section
    from miniprogram_api.models import SubscriptionGrant

    for grant in SubscriptionGrant.objects.filter(customer=customer).order_by("template_id"):
        section.rows.append([Cell(grant.template_id), Cell(str(grant.available)), Cell(grant.last_result or "-")])
    return section


PERSON_SECTIONS: list[Callable[[object, object], Section]] = [
    orders_section, conversations_section, notices_section, subscriptions_section,
]


def follower_for_customer(customer):
    if not customer.unionid:
        return None
    from officialaccount.models import Follower

    return Follower.objects.filter(unionid=customer.unionid).order_by("-id").first()


def customer_for_follower(follower):
    """The mini-program customer with the follower's unionid (not an erased one)."""
    if follower is None or not follower.unionid:
        return None
    from miniprogram_api.models import Customer

    return Customer.objects.filter(unionid=follower.unionid, erased_at__isnull=True).order_by("-id").first()


def person_for_customer(*, customer) -> Person:
    follower = follower_for_customer(customer)
    return Person(customer=customer, follower=follower,
                  sections=[provider(customer, follower) for provider in PERSON_SECTIONS])
