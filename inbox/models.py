"""The customer-service inbox: one conversation per person and channel, its notes, canned
replies, who answered what, and the first-response record the metrics are read from.

Channel-neutral on purpose: a conversation names its channel and the channel's id of the
person (`contact`, the openid for the official account); messages stay in the channel's
own table (officialaccount.Message) and are read through `inbox.channels`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Where a conversation takes place; a new messaging app adds a member here and an
    adapter in `inbox.channels`."""

    WECHAT_MP = "wechat_mp", _("WeChat official account")


class Conversation(models.Model):
    """The person's thread with the brand on one channel.

    `open`: waits for staff; `pending`: staff answered, waits for the customer; `closed`:
    done. A message no rule answers opens (or reopens) it in the callback's own SQL
    statement (`inbox.hotpath`), so columns the callback does not name have database
    defaults."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        PENDING = "pending", _("pending")
        CLOSED = "closed", _("closed")

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.WECHAT_MP)
    contact = models.CharField(_("contact id"), max_length=64, help_text=_("The channel's id of the person (openid)."))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN, db_default="open")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    unread_count = models.PositiveIntegerField(_("unread"), default=0, db_default=0)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    last_inbound_at = models.DateTimeField(_("last customer message"), null=True, blank=True)
    last_read_at = models.DateTimeField(_("last read"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_inbound_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "contact"], name="inbox_conv_one_per_contact"),
        ]
        indexes = [
            models.Index(fields=["state", "-last_inbound_at"], name="inbox_conv_state_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.contact}"


class Handoff(models.Model):
    """An inbound message no rule answered, handed to staff (written by the callback's
    statement). The share of messages answered automatically is read against these."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="handoffs")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    message_id = models.BigIntegerField(_("message"))
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("hand-off")
        verbose_name_plural = _("hand-offs")
        constraints = [
            models.UniqueConstraint(fields=["channel", "message_id"], name="inbox_handoff_once"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.message_id}"


class Note(models.Model):
    """An internal note on a conversation: staff only, never sent."""

    conversation = models.ForeignKey(Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE,
                                     related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), null=True,
                               on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class CannedReply(models.Model):
    """A prepared answer staff insert into a reply."""

    title = models.CharField(_("title"), max_length=60)
    text = models.TextField(_("text"), max_length=2000)
    sort_order = models.IntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.title


class StaffReply(models.Model):
    """Who sent an outbound message of a conversation (the message is the channel's row)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="staff_replies")
    message_id = models.BigIntegerField(_("message"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True,
                              on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)

    class Meta:
        verbose_name = _("staff reply")
        verbose_name_plural = _("staff replies")
        constraints = [models.UniqueConstraint(fields=["conversation", "message_id"], name="inbox_staff_reply_once")]

    def __str__(self) -> str:
        return f"{self.staff_id}:{self.message_id}"


class FirstResponse(models.Model):
    """The first staff reply after a conversation (re)opened: the unit of response metrics."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="first_responses")
    opened_at = models.DateTimeField(_("opened at"), db_index=True)
    responded_at = models.DateTimeField(_("responded at"))
    responder = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True,
                                  on_delete=models.SET_NULL, related_name="+")
    seconds = models.PositiveIntegerField(_("seconds to respond"))

    class Meta:
        verbose_name = _("first response")
        verbose_name_plural = _("first responses")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "opened_at"], name="inbox_first_response_once"),
            models.CheckConstraint(condition=Q(seconds__gte=0), name="inbox_first_response_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.seconds}s"
