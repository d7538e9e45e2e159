"""Payments in the back office: every refund (find the abnormal and refused ones), every
notification WeChat Pay (or anyone) posted with its verdict, one row per reconciled day, and
every difference between WeChat Pay's bill and our payments, in ¥ yuan, until staff mark it
resolved. All read-only: money moves through the order pages' actions (admin_orders.py)."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.money import yuan
from payments import admin_orders  # noqa: F401 - the order pages' payments, refunds and refund requests
from payments.models import PaymentNotification, ReconciliationDifference, ReconciliationRun, Refund
from payments.reconciliation import differences_resolve


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False  # made by the reconciliation, never by hand

    def has_delete_permission(self, request, obj=None):
        return False


def _order_link(order) -> str:
    return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]), order.order_no)


@admin.register(Refund)
class RefundAdmin(_ReadOnly):
    """Every refund, newest first; filter by status to find those that need a person."""

    list_display = ("out_refund_no", "order_no", "amount", "status", "is_full", "reason", "requested_by", "error",
                    "created_at", "succeeded_at")
    list_filter = ("status", "is_full", "created_at")
    search_fields = ("=out_refund_no", "=refund_id", "=order__order_no")
    list_select_related = ("order",)
    fields = ("out_refund_no", "refund_id", "order_no", "amount", "status", "is_full", "reason", "requested_by",
              "error", "created_at", "updated_at", "succeeded_at")
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("order"), ordering="order__order_no")
    def order_no(self, obj):
        return _order_link(obj.order)

    @admin.display(description=_("amount"), ordering="amount_fen")
    def amount(self, obj):
        return yuan(obj.amount_fen)


@admin.register(PaymentNotification)
class PaymentNotificationAdmin(_ReadOnly):
    """What WeChat Pay (or a forger) posted, and what was done with it: mismatches, forgeries
    and unknown trades are here for staff to look into."""

    list_display = ("received_at", "kind", "api_version", "verdict", "out_trade_no", "out_refund_no", "detail")
    list_filter = ("verdict", "kind", "api_version", "received_at")
    search_fields = ("=out_trade_no", "=out_refund_no", "=notice_id")
    fields = ("received_at", "kind", "api_version", "verdict", "detail", "notice_id", "out_trade_no",
              "out_refund_no", "attempt", "headers", "body")
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(_ReadOnly):
    list_display = ("day", "status", "api_version", "bill_rows", "matched", "difference_count", "finished_at",
                    "error")
    list_filter = ("status", "api_version")
    date_hierarchy = "day"
    readonly_fields = ("day", "status", "api_version", "started_at", "finished_at", "bill_rows", "matched",
                       "difference_count", "error")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReconciliationDifference)
class ReconciliationDifferenceAdmin(_ReadOnly):
    list_display = ("day", "kind", "out_trade_no", "transaction_id", "ours", "theirs", "is_resolved",
                    "resolution_note")
    list_filter = ("is_resolved", "kind", "run__day")
    search_fields = ("=out_trade_no", "=transaction_id")
    list_select_related = ("run",)
    actions = ["mark_resolved"]
    fields = ("day", "kind", "out_trade_no", "transaction_id", "ours", "theirs", "is_resolved", "resolution_note",
              "resolved_by", "resolved_at")
    readonly_fields = ("day", "kind", "out_trade_no", "transaction_id", "ours", "theirs", "resolved_by",
                       "resolved_at")

    @admin.display(description=_("bill date"), ordering="run__day")
    def day(self, obj):
        return obj.run.day

    @admin.display(description=_("our amount"), ordering="ours_fen")
    def ours(self, obj):
        return yuan(obj.ours_fen)

    @admin.display(description=_("WeChat's amount"), ordering="theirs_fen")
    def theirs(self, obj):
        return yuan(obj.theirs_fen)

    def save_model(self, request, obj, form, change):
        """Ticking "resolved" by hand records who did it, as the action does."""
        if obj.is_resolved and "is_resolved" in form.changed_data:
            obj.resolved_by, obj.resolved_at = f"staff:{request.user.pk}", timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Mark selected differences resolved"), permissions=["change"])
    def mark_resolved(self, request, queryset):
        done = differences_resolve(ids=list(queryset.values_list("pk", flat=True)), actor=f"staff:{request.user.pk}")
        self.message_user(request, _("%d differences marked resolved.") % done, messages.SUCCESS)
