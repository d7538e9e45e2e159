"""The merchant's back office for carts, addresses and orders. Orders are read-only here
except through actions, which call the same services as the API; money reads as ¥ yuan."""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ExportMixin

from catalog.money import yuan
from miniprogram_api.crypto import lookup_hash
from miniprogram_api.phones import can_reveal_phone, mask_phone, phone_reveal_record, phone_reveal_response
from orders.exceptions import InvalidTransition
from orders.models import Address, Cart, CartItem, Order, OrderEvent, OrderItem, RefundRequest, ShippingUpload
from orders.services import order_ship


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    fields = ("sku", "quantity", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("sku",)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "updated_at")
    raw_id_fields = ("customer",)
    inlines = [CartItemInline]


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    """The phone is shown masked and is not editable here (it is the customer's to change)."""

    list_display = ("user_name", "masked_tel", "province_name", "city_name", "county_name", "customer",
                    "is_default")
    list_filter = ("province_name", "is_default")
    search_fields = ("user_name", "detail_info")
    raw_id_fields = ("customer",)
    exclude = ("tel_number",)
    readonly_fields = ("masked_tel",)

    @admin.display(description=_("phone"))
    def masked_tel(self, obj):
        return mask_phone(obj.tel_number) or "-"


# --- Orders -----------------------------------------------------------------------------------


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderItemInline(_ReadOnlyInline):
    model = OrderItem
    fields = ("title", "sku_code", "attributes", "unit_price", "quantity", "line_total")
    readonly_fields = fields

    @admin.display(description=_("unit price"))
    def unit_price(self, obj):
        return yuan(obj.unit_price_fen)

    @admin.display(description=_("line total"))
    def line_total(self, obj):
        return yuan(obj.line_total_fen)


class OrderEventInline(_ReadOnlyInline):
    """The status timeline."""

    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


class RefundRequestInline(_ReadOnlyInline):
    model = RefundRequest
    fields = ("created_at", "reason", "status", "decided_at", "decided_by")
    readonly_fields = fields


class ShippingUploadInline(_ReadOnlyInline):
    """Whether WeChat has the parcel (发货信息管理), and why not if it refused."""

    model = ShippingUpload
    fields = ("status", "transaction_id", "errcode", "error", "uploaded_at", "updated_at")
    readonly_fields = fields


class NoticeInline(_ReadOnlyInline):
    """What the customer was told of this order, through which channel, and WeChat's answer
    (the notices' own page, 消息通知 → 通知, has each try and the resend action)."""

    model = apps.get_model("notifications", "Notice")
    fields = ("event", "channel", "status", "attempts", "last_errcode", "last_error", "skip_reason", "sent_at")
    readonly_fields = fields
    show_change_link = True


class OrderResource(resources.ModelResource):
    """The CSV export: one row per order, money in yuan, items in one column."""

    total = fields.Field(column_name="total")
    items = fields.Field(column_name="items")
    address = fields.Field(column_name="address")

    class Meta:
        model = Order
        fields = ("order_no", "status", "total", "items", "user_name", "tel_number", "address", "remark",
                  "carrier", "tracking_no", "created_at", "paid_at", "shipped_at", "completed_at", "closed_at")
        export_order = fields

    def dehydrate_total(self, order):
        return yuan(order.total_fen)

    def dehydrate_items(self, order):
        return "; ".join(f"{item.title} {item.sku_code} × {item.quantity}" for item in order.items.all())

    def dehydrate_address(self, order):
        return order.address_text

    def __init__(self, *args, reveal_phones: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.reveal_phones = reveal_phones

    def dehydrate_tel_number(self, order):
        """In full only for staff allowed to see phone numbers (the export is then audited)."""
        return order.tel_number if self.reveal_phones else mask_phone(order.tel_number)


class ShipForm(forms.Form):
    carrier = forms.CharField(label=_("carrier"), max_length=64)

    def __init__(self, *args, orders, **kwargs):
        super().__init__(*args, **kwargs)
        for order in orders:
            self.fields[f"tracking_{order.pk}"] = forms.CharField(label=_("tracking number"), max_length=64)


@admin.register(Order)
class OrderAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [OrderResource]
    list_display = ("order_no", "status", "total", "user_name", "masked_tel", "created_at", "paid_at",
                    "shipped_at")
    list_filter = ("status", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("=order_no", "=tel_number")
    search_help_text = _("An order number, or a full phone number (the recipient's or the customer's).")
    list_per_page = 50
    inlines = [OrderItemInline, OrderEventInline, ShippingUploadInline, RefundRequestInline, NoticeInline]
    actions = ["ship"]
    fieldsets = [
        (None, {"fields": ("order_no", "status", "total", "customer", "remark")}),
        (_("Delivery"), {"fields": ("user_name", "masked_tel", "address_text", "postal_code", "carrier",
                                    "tracking_no")}),
        (_("Times"), {"fields": ("created_at", "paid_at", "shipped_at", "completed_at", "closed_at",
                                 "refunding_at", "refunded_at")}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def has_add_permission(self, request):
        return False  # orders are made by customers

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).prefetch_related("items")

    def has_delete_permission(self, request, obj=None):
        return False  # the books keep every order

    @admin.display(description=_("total"), ordering="total_fen")
    def total(self, obj):
        return yuan(obj.total_fen)

    @admin.display(description=_("address"))
    def address_text(self, obj):
        return obj.address_text

    @admin.display(description=_("phone"))
    def masked_tel(self, obj):
        masked = mask_phone(obj.tel_number) or "-"
        if not obj.pk or not obj.tel_number:
            return masked
        url = reverse("admin:orders_order_phone", args=[obj.pk])
        return format_html('{} <a href="{}">{}</a>', masked, url, _("show in full"))

    def get_urls(self):
        reveal = path("<int:order_id>/phone/", self.admin_site.admin_view(self.phone_view),
                      name="orders_order_phone")
        return [reveal, *super().get_urls()]

    def phone_view(self, request, order_id: int):
        """The recipient's full phone number, for staff allowed to see it; each look is recorded."""
        order = get_object_or_404(Order, pk=order_id)
        return phone_reveal_response(self, request, order, phone=order.tel_number, customer_id=order.customer_id,
                                     source=f"order {order.order_no}")

    def get_export_resource_kwargs(self, request, **kwargs):
        kwargs = super().get_export_resource_kwargs(request, **kwargs)
        kwargs["reveal_phones"] = can_reveal_phone(request.user)
        return kwargs

    def get_data_for_export(self, request, queryset, **kwargs):
        """An export with full numbers is recorded like a reveal (the count of orders in it)."""
        data = super().get_data_for_export(request, queryset, **kwargs)
        if can_reveal_phone(request.user):
            phone_reveal_record(user=request.user, customer_id=None, source=f"orders export ({len(data)})")
        return data

    def get_search_results(self, request, queryset, search_term):
        """A full phone number also finds the orders of the customer bound to it (customers'
        phones are encrypted; the keyed hash finds them)."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and len(term) >= 7:
            queryset |= self.model.objects.filter(customer__phone_hash=lookup_hash(f"+86{term}"))
        return queryset, may_have_duplicates

    @admin.action(description=_("Ship selected paid orders"), permissions=["change"])
    def ship(self, request, queryset):
        """An intermediate page asks for the carrier and each parcel's tracking number."""
        orders = list(queryset.filter(status=Order.Status.PAID).order_by("pk"))
        skipped = [o.order_no for o in queryset.exclude(status=Order.Status.PAID).order_by("pk")]
        if not orders:
            self.message_user(request, _("None of the selected orders is paid and waiting to ship."),
                              messages.WARNING)
            return None
        form = ShipForm(request.POST if "apply" in request.POST else None, orders=orders)
        if form.is_valid():
            shipped = 0
            for order in orders:
                try:
                    order_ship(order_id=order.pk, carrier=form.cleaned_data["carrier"],
                               tracking_no=form.cleaned_data[f"tracking_{order.pk}"],
                               actor=f"staff:{request.user.pk}")
                    shipped += 1
                except InvalidTransition as exc:  # changed since the page was shown
                    self.message_user(request, f"{order.order_no}: {exc}", messages.ERROR)
            self.message_user(request, _("%d orders marked as shipped.") % shipped, messages.SUCCESS)
            return None
        for order in orders:
            order.total_yuan = yuan(order.total_fen)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Ship orders"),
            "form": form,
            "rows": [(order, form[f"tracking_{order.pk}"]) for order in orders],
            "skipped": skipped,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/ship.html", context)


@admin.register(RefundRequest)
class RefundRequestAdmin(admin.ModelAdmin):
    """Open requests wait here; approving (money back) and declining come with payments."""

    list_display = ("order", "status", "reason", "created_at", "decided_at")
    list_filter = ("status", "created_at")
    search_fields = ("=order__order_no",)
    list_select_related = ("order",)
    readonly_fields = ("order", "reason", "status", "created_at", "decided_at", "decided_by")

    def has_add_permission(self, request):
        return False
