"""The order pages as payments extends them (orders' admin knows nothing of money moving:
imports point from payments to orders): each order shows its payments and refunds in ¥
yuan, staff with the `orders.refund_order` permission refund in full or in part from the
order's page, and approve or decline customers' refund requests. Every action calls the
same services as the rest of the code (payments.refunds, orders.services)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.money import YuanField, yuan
from orders.admin import OrderAdmin, RefundRequestAdmin
from orders.exceptions import InvalidTransition, RefundRequestDecided
from orders.models import Order, RefundRequest
from orders.services import refund_request_decline
from payments.exceptions import NothingToRefund, RefundExceedsPaid
from payments.models import PaymentAttempt, Refund
from payments.refunds import ABANDONED, refund_request_approve, refund_start, refundable_fen

REFUND_PERMISSION = "orders.refund_order"
REASON_MAX_BYTES = 80  # WeChat Pay's limit for a refund's reason (spec 6.7)


def _actor(request) -> str:
    return f"staff:{request.user.pk}"


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PaymentAttemptInline(_ReadOnlyInline):
    model = PaymentAttempt
    verbose_name_plural = _("payments")
    fields = ("out_trade_no", "api_version", "status", "amount", "transaction_id", "paid_at", "created_at")
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return yuan(obj.amount_fen)


class RefundInline(_ReadOnlyInline):
    model = Refund
    fields = ("out_refund_no", "amount", "status", "is_full", "reason", "requested_by", "error", "created_at",
              "succeeded_at")
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return yuan(obj.amount_fen)


class RefundForm(forms.Form):
    """How much goes back (¥, at most what is left) and why (WeChat shows it the customer)."""

    amount = YuanField(label=_("Amount to refund (¥)"), min_fen=1)
    reason = forms.CharField(label=_("Reason"), max_length=80,
                             help_text=_("WeChat Pay shows it to the customer: at most 80 bytes (26 Chinese characters)."))

    def __init__(self, *args, paid_fen: int, refunded_fen: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.paid_fen, self.refunded_fen = paid_fen, refunded_fen
        self.fields["amount"].initial = paid_fen - refunded_fen
        self.fields["amount"].help_text = _("Full refund: %(left)s.") % {"left": yuan(paid_fen - refunded_fen)}

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount > self.paid_fen - self.refunded_fen:
            raise ValidationError(over_refund_message(self.paid_fen, self.refunded_fen), code="over_refund")
        return amount

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if len(reason.encode("utf-8")) > REASON_MAX_BYTES:
            raise ValidationError(_("The reason is too long for WeChat Pay: at most 80 bytes (26 Chinese "
                                    "characters)."), code="too_long")
        return reason


def over_refund_message(paid_fen: int, refunded_fen: int) -> str:
    return gettext("The refunds would exceed what was paid: paid %(paid)s, refunded or on its way back "
                   "%(refunded)s, so at most %(left)s can still be refunded.") % {
        "paid": yuan(paid_fen), "refunded": yuan(refunded_fen), "left": yuan(max(paid_fen - refunded_fen, 0))}


class OrderPaymentsAdmin(OrderAdmin):
    inlines = [*OrderAdmin.inlines, PaymentAttemptInline, RefundInline]
    # Named, not found by path: an orders/…/order/change_form.html would shadow it silently.
    change_form_template = "admin/payments/order_change_form.html"

    def get_urls(self):
        refund = path("<path:object_id>/refund/", self.admin_site.admin_view(self.refund_view),
                      name="orders_order_refund")
        return [refund, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page shows a Refund button to those who may refund, and says loudly when a
        refund did not give the money back."""
        extra = {}
        pk = unquote(object_id)
        if str(pk).isdigit():
            extra["refund_alerts"] = refund_alerts(order_id=int(pk))
            if request.user.has_perm(REFUND_PERMISSION):
                paid, refunded = refundable_fen(order_id=int(pk))
                extra["can_refund"] = paid > refunded
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def refund_view(self, request, object_id):
        """Refund the order in full or in part, through payments.refunds.refund_start (which
        checks, under the order's lock, that the refunds never exceed what was paid)."""
        if not request.user.has_perm(REFUND_PERMISSION):
            raise PermissionDenied
        order = self.get_object(request, unquote(object_id))
        if order is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        back = reverse("admin:orders_order_change", args=[order.pk])
        paid, refunded = refundable_fen(order_id=order.pk)
        if not paid:
            self.message_user(request, gettext("Order %(order)s has no payment to refund (it is %(status)s).") % {
                "order": order.order_no, "status": order.get_status_display()}, messages.ERROR)
            return redirect(back)
        if refunded >= paid:
            self.message_user(request, gettext("Order %(order)s is refunded in full already (or the refund is on "
                                               "its way).") % {"order": order.order_no}, messages.WARNING)
            return redirect(back)
        form = RefundForm(request.POST if request.method == "POST" else None, paid_fen=paid, refunded_fen=refunded)
        if form.is_valid():
            try:
                refund = refund_start(order_id=order.pk, amount_fen=form.cleaned_data["amount"],
                                      reason=form.cleaned_data["reason"], requested_by=_actor(request))
            except RefundExceedsPaid:  # another refund went first
                form.add_error("amount", over_refund_message(*refundable_fen(order_id=order.pk)))
            except NothingToRefund:
                form.add_error(None, gettext("This order has no payment to refund."))
            except InvalidTransition:
                order.refresh_from_db()
                form.add_error(None, gettext("A full refund cannot start while the order is %(status)s.") % {
                    "status": order.get_status_display()})
            else:
                self._report_refund(request, refund)
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Refund order %(order)s") % {"order": order.order_no},
            "original": order,
            "form": form,
            "paid": yuan(paid),
            "refunded": yuan(refunded),
            "left": yuan(paid - refunded),
        }
        return TemplateResponse(request, "admin/orders/order/refund.html", context)

    def _report_refund(self, request, refund: Refund) -> None:
        refund.refresh_from_db()  # the submission may have run already (no broker: in this request)
        if refund.status in ABANDONED:
            self.message_user(request, gettext("WeChat Pay refused refund %(no)s of %(amount)s: %(error)s") % {
                "no": refund.out_refund_no, "amount": yuan(refund.amount_fen), "error": refund.error or "-"},
                messages.ERROR)
        else:
            self.message_user(request, gettext("Refund %(no)s of %(amount)s sent to WeChat Pay; the order page "
                                               "shows when it is done.") % {
                "no": refund.out_refund_no, "amount": yuan(refund.amount_fen)}, messages.SUCCESS)


def refund_alerts(*, order_id: int) -> list[Refund]:
    """The refunds staff must hear about: abnormal ones (the money is stuck at WeChat Pay until
    someone acts in the merchant platform), and refused or closed ones not followed by a
    newer refund (once staff refunded again, the old failure is history)."""
    refunds = list(Refund.objects.filter(order_id=order_id).order_by("-created_at", "-id"))
    alerts, retried = [], False
    for refund in refunds:  # newest first
        if refund.status == Refund.Status.ABNORMAL or (refund.status in ABANDONED and not retried):
            alerts.append(refund)
        if refund.status not in ABANDONED:
            retried = True
    return alerts


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason for declining"), max_length=200, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The customer reads it on the order."))


class RefundRequestDecideAdmin(RefundRequestAdmin):
    """Open requests wait here; staff who may refund approve them (a refund of everything
    still refundable) or decline them with a reason, after a confirmation page."""

    list_display = ("order", "status", "reason", "paid", "created_at", "decided_at", "decided_by", "decline_reason",
                    "refund_no")
    readonly_fields = ("order", "reason", "status", "created_at", "decided_at", "decided_by", "decline_reason",
                       "refund_no")
    search_fields = ("=order__order_no",)
    actions = ["approve", "decline"]

    def has_refund_permission(self, request):
        return request.user.has_perm(REFUND_PERMISSION)

    def has_change_permission(self, request, obj=None):
        return False  # decided through the actions only

    @admin.display(description=_("order total"))
    def paid(self, obj):
        return yuan(obj.order.total_fen)

    @admin.action(description=_("Approve selected requests: refund in full"), permissions=["refund"])
    def approve(self, request, queryset):
        requests = list(queryset.filter(status=RefundRequest.Status.OPEN).select_related("order").order_by("pk"))
        if not requests:
            return self._nothing_open(request)
        if "apply" not in request.POST:
            rows = []
            for item in requests:
                paid, refunded = refundable_fen(order_id=item.order_id)
                rows.append((item, yuan(paid - refunded)))
            return self._confirm(request, "approve", gettext("Approve refund requests"), requests, rows=rows)
        for item in requests:
            try:
                refund = refund_request_approve(request_id=item.pk, actor=_actor(request))
            except RefundRequestDecided as exc:
                self.message_user(request, _already_decided(item, exc), messages.WARNING)
            except (NothingToRefund, RefundExceedsPaid, InvalidTransition) as exc:
                self.message_user(request, gettext("%(order)s: cannot refund (%(why)s). Decline the request or "
                                                   "refund from the order page.") % {
                    "order": item.order.order_no, "why": _refusal(item.order, exc)}, messages.ERROR)
            else:
                self.message_user(request, gettext("%(order)s: approved; refund %(no)s of %(amount)s sent to "
                                                   "WeChat Pay.") % {
                    "order": item.order.order_no, "no": refund.out_refund_no, "amount": yuan(refund.amount_fen)},
                    messages.SUCCESS)
        return None

    @admin.action(description=_("Decline selected requests"), permissions=["refund"])
    def decline(self, request, queryset):
        requests = list(queryset.filter(status=RefundRequest.Status.OPEN).select_related("order").order_by("pk"))
        if not requests:
            return self._nothing_open(request)
        form = DeclineForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._confirm(request, "decline", gettext("Decline refund requests"), requests, form=form)
        declined = 0
        for item in requests:
            try:
                refund_request_decline(request_id=item.pk, reason=form.cleaned_data["reason"], actor=_actor(request))
                declined += 1
            except RefundRequestDecided as exc:
                self.message_user(request, _already_decided(item, exc), messages.WARNING)
        self.message_user(request, gettext("%d refund requests declined; the customers see the reason.") % declined,
                          messages.SUCCESS)
        return None

    def _nothing_open(self, request):
        self.message_user(request, gettext("None of the selected requests is open."), messages.WARNING)

    def _confirm(self, request, action, title, requests, *, rows=None, form=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "action": action,
            "rows": rows or [(item, None) for item in requests],
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/refundrequest/decide.html", context)


def _already_decided(item: RefundRequest, exc: RefundRequestDecided) -> str:
    status = RefundRequest.Status(exc.context["status"]).label
    return gettext("%(order)s: the request was %(status)s meanwhile by %(who)s.") % {
        "order": item.order.order_no, "status": status, "who": exc.context["decided_by"] or "-"}


def _refusal(order: Order, exc: Exception) -> str:
    if isinstance(exc, NothingToRefund):
        return gettext("no payment to refund")
    if isinstance(exc, RefundExceedsPaid):
        return gettext("refunded in full already")
    order.refresh_from_db()
    return gettext("the order is %(status)s") % {"status": order.get_status_display()}


admin.site.unregister(Order)
admin.site.register(Order, OrderPaymentsAdmin)
admin.site.unregister(RefundRequest)
admin.site.register(RefundRequest, RefundRequestDecideAdmin)
