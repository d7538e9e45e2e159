"""Order notices: the merchant's switchboard of templates, and one outbox row per notice.

A `NotificationTemplate` says, for one order event and one channel, whether a notice goes
out, with which WeChat template, to which page, and which order field fills each keyword.
A `Notice` is written in the transaction that changes the order's status (see
`notifications.services.notice_queue_for_order`) and carries everything the send needs, so
a retry sends exactly what the first try sent. `NoticeAttempt` keeps each try for staff.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    """The order events a customer hears about (the order statuses of the same names)."""

    PAID = "paid", _("paid")
    SHIPPED = "shipped", _("shipped")
    REFUNDED = "refunded", _("refunded")
    CLOSED = "closed", _("closed")


class Channel(models.TextChoices):
    SUBSCRIBE = "subscribe", _("mini-program subscribe message")
    TEMPLATE = "template", _("official-account template message")


class NotificationTemplate(models.Model):
    """One switch of the board: event × channel.

    `keywords` maps the template's keyword names (`thing1`, `amount2`, …; the prefix is the
    keyword's type, spec 5.2) to order fields named in `notifications.values.FIELDS`."""

    class MiniprogramState(models.TextChoices):
        FORMAL = "formal", _("formal (released version)")
        TRIAL = "trial", _("trial version")
        DEVELOPER = "developer", _("developer version")

    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    template_id = models.CharField(_("template id"), max_length=64)
    page = models.CharField(
        _("mini-program page"), max_length=200, blank=True,
        help_text=_("Opened when the customer taps the notice, e.g. pages/order/detail?no={order_no}."),
    )
    url = models.URLField(
        _("web page URL"), max_length=300, blank=True,
        help_text=_("Template messages only: opened when no mini-program page is set."),
    )
    miniprogram_state = models.CharField(
        _("mini-program version"), max_length=16, choices=MiniprogramState.choices,
        default=MiniprogramState.FORMAL,
        help_text=_("Subscribe messages only: which version of the mini-program the notice opens."),
    )
    keywords = models.JSONField(
        _("keywords"), default=dict, blank=True,
        help_text=_('Template keyword → order field, e.g. {"character_string1": "order_no", "amount2": "total"}.'),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["event", "channel"]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")
        constraints = [
            models.UniqueConstraint(fields=["event", "channel"], name="notif_template_one_per_event_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} · {self.get_channel_display()}"


class Notice(models.Model):
    """One order event told to one customer: the outbox row of the send.

    Unique per (order, event): the customer is the order's, and the channel is chosen once,
    when the row is written. `payload` is the request body without `touser`, fixed at that
    moment. The status moves queued → sending → sent (or failed) only through conditional
    UPDATEs on this row (`notifications.services`)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.CASCADE,
                              related_name="notices")
    customer = models.ForeignKey("miniprogram_api.Customer", verbose_name=_("customer"),
                                 on_delete=models.CASCADE, related_name="notices")
    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    touser = models.CharField(_("recipient openid"), max_length=64, blank=True)
    template_id = models.CharField(_("template id"), max_length=64, blank=True)
    payload = models.JSONField(_("message"), default=dict, blank=True)
    client_msg_id = models.CharField(_("client_msg_id"), max_length=64, blank=True)
    skip_reason = models.CharField(_("why skipped"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_errcode = models.IntegerField(_("last errcode"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    msgid = models.BigIntegerField(_("WeChat msgid"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(fields=["order", "event"], name="notif_notice_once_per_order_event"),
        ]
        indexes = [
            # The requeue sweep: rows left in queued or sending.
            models.Index(fields=["status", "last_attempt_at"], name="notif_notice_unfinished",
                         condition=models.Q(status__in=["queued", "sending"])),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.event} ({self.channel or '-'})"


class NoticeAttempt(models.Model):
    """One try at sending a notice, as WeChat answered it (errcode None: no answer)."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    errcode = models.IntegerField(_("errcode"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")

    def __str__(self) -> str:
        return f"{self.outcome} {self.errcode if self.errcode is not None else ''}".strip()
