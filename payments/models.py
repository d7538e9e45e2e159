"""Money moving through WeChat Pay: an attempt per prepay, a row per notification received,
a row per refund. Amounts are integer fen. Statuses change only in payments' services."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PaymentAttempt(models.Model):
    """One WeChat Pay trade (`out_trade_no`) for an order. Paying again reuses a pending
    attempt until shortly before its prepay expires; an order may have several attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for payment")
        PAID = "paid", _("paid")
        CLOSED = "closed", _("closed")

    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.PROTECT,
                              related_name="payment_attempts")
    out_trade_no = models.CharField(_("merchant trade number"), max_length=32, unique=True)
    api_version = models.CharField(_("API version"), max_length=2)
    appid = models.CharField(_("app id"), max_length=32)
    mchid = models.CharField(_("merchant id"), max_length=32)
    openid = models.CharField(_("payer openid"), max_length=128)
    amount_fen = models.PositiveBigIntegerField(_("amount"))
    prepay_id = models.CharField(_("prepay id"), max_length=128, blank=True)
    pay_params = models.JSONField(_("wx.requestPayment parameters"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    transaction_id = models.CharField(_("WeChat transaction id"), max_length=64, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(fields=["transaction_id"], condition=~Q(transaction_id=""),
                                    name="payments_attempt_one_transaction"),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="payments_attempt_due")]

    def __str__(self) -> str:
        return self.out_trade_no


class PaymentNotification(models.Model):
    """Every notification WeChat Pay (or anyone) posted, stored before it is answered: the
    audit trail and the source for a replay. `verdict` says what was done with it."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("payment")
        REFUND = "refund", _("refund")

    class Verdict(models.TextChoices):
        APPLIED = "applied", _("applied")
        DUPLICATE = "duplicate", _("duplicate (already applied)")
        REJECTED = "rejected", _("rejected: not WeChat Pay's")
        MISMATCH = "mismatch", _("mismatch: not paid")
        UNKNOWN = "unknown", _("unknown trade")
        LATE = "late", _("paid after the order closed")
        FAILED = "failed", _("failed: WeChat will retry")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    api_version = models.CharField(_("API version"), max_length=2)
    notice_id = models.CharField(_("notification id"), max_length=128, blank=True, db_index=True)
    out_trade_no = models.CharField(_("merchant trade number"), max_length=32, blank=True, db_index=True)
    out_refund_no = models.CharField(_("merchant refund number"), max_length=64, blank=True, db_index=True)
    attempt = models.ForeignKey(PaymentAttempt, verbose_name=_("payment"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="notifications")
    headers = models.JSONField(_("headers"), default=dict)
    body = models.TextField(_("body"))
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")

    def __str__(self) -> str:
        return f"{self.kind} {self.notice_id or self.pk}"


class Refund(models.Model):
    """Money going back for an order, in full or in part. `out_refund_no` refunds once at
    WeChat however often it is sent; the refunded total never exceeds the paid total."""

    class Status(models.TextChoices):
        PENDING = "pending", _("not yet accepted by WeChat Pay")
        PROCESSING = "processing", _("processing")
        SUCCEEDED = "succeeded", _("refunded")
        CLOSED = "closed", _("closed")
        ABNORMAL = "abnormal", _("abnormal")
        FAILED = "failed", _("refused by WeChat Pay")

    order = models.ForeignKey("orders.Order", verbose_name=_("order"), on_delete=models.PROTECT,
                              related_name="refunds")
    attempt = models.ForeignKey(PaymentAttempt, verbose_name=_("payment"), on_delete=models.PROTECT,
                                related_name="refunds")
    out_refund_no = models.CharField(_("merchant refund number"), max_length=64, unique=True)
    refund_id = models.CharField(_("WeChat refund id"), max_length=64, blank=True)
    amount_fen = models.PositiveBigIntegerField(_("amount"))
    reason = models.CharField(_("reason"), max_length=80, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    is_full = models.BooleanField(_("full refund"), default=False)
    requested_by = models.CharField(_("requested by"), max_length=64)
    error = models.CharField(_("error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    succeeded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return self.out_refund_no


class ReconciliationRun(models.Model):
    """One Beijing day's trade bill compared with our payments. Reconciling the day again
    replaces its result (one run per day)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    day = models.DateField(_("bill date"), unique=True)
    api_version = models.CharField(_("API version"), max_length=2, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    bill_rows = models.PositiveIntegerField(_("bill rows"), default=0)
    matched = models.PositiveIntegerField(_("matched payments"), default=0)
    difference_count = models.PositiveIntegerField(_("differences"), default=0)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")

    def __str__(self) -> str:
        return self.day.isoformat()


class ReconciliationDifference(models.Model):
    """A trade on which the bill and our payments disagree, for staff to look into."""

    class Kind(models.TextChoices):
        MISSING_HERE = "missing_here", _("paid at WeChat, not here")
        AMOUNT = "amount", _("amounts differ")
        MISSING_AT_WECHAT = "missing_at_wechat", _("paid here, not at WeChat")

    run = models.ForeignKey(ReconciliationRun, verbose_name=_("reconciliation"), on_delete=models.CASCADE,
                            related_name="differences")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    out_trade_no = models.CharField(_("merchant trade number"), max_length=32)
    transaction_id = models.CharField(_("WeChat transaction id"), max_length=64, blank=True)
    ours_fen = models.PositiveBigIntegerField(_("our amount"), null=True, blank=True)
    theirs_fen = models.PositiveBigIntegerField(_("WeChat's amount"), null=True, blank=True)
    is_resolved = models.BooleanField(_("resolved"), default=False)
    resolution_note = models.CharField(_("note"), max_length=200, blank=True)
    resolved_by = models.CharField(_("resolved by"), max_length=64, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-run__day", "kind", "out_trade_no"]
        verbose_name = _("reconciliation difference")
        verbose_name_plural = _("reconciliation differences")
        constraints = [
            models.UniqueConstraint(fields=["run", "kind", "out_trade_no"], name="payments_difference_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.out_trade_no}"
