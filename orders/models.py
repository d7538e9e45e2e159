"""The customer's cart and delivery addresses, and the orders made from them."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

CART_MAX_QUANTITY = 99


class Cart(models.Model):
    """One per customer, made on first use."""

    customer = models.OneToOneField("miniprogram_api.Customer", on_delete=models.CASCADE, related_name="cart")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"cart of {self.customer_id}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(CART_MAX_QUANTITY)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        constraints = [
            models.UniqueConstraint(fields=["cart", "sku"], name="orders_cartitem_one_line_per_sku"),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=CART_MAX_QUANTITY), name="orders_cartitem_quantity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × SKU {self.sku_id}"


class Address(models.Model):
    """A delivery address, field for field what wx.chooseAddress returns (in snake case)."""

    customer = models.ForeignKey("miniprogram_api.Customer", on_delete=models.CASCADE, related_name="addresses")
    user_name = models.CharField(_("recipient"), max_length=64)
    tel_number = models.CharField(_("phone"), max_length=32)
    province_name = models.CharField(_("province"), max_length=32)
    city_name = models.CharField(_("city"), max_length=32)
    county_name = models.CharField(_("county"), max_length=32)
    detail_info = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True)
    national_code = models.CharField(_("national code"), max_length=16, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "-updated_at", "-id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_default=True), name="orders_address_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_name} {self.province_name}{self.city_name}{self.county_name}{self.detail_info}"


class Order(models.Model):
    """What a customer bought: items, prices and address copied at creation, so later catalog
    or address edits do not change it. `status` is written by orders.services.order_transition
    only."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("pending payment")
        PAID = "paid", _("paid")
        SHIPPED = "shipped", _("shipped")
        COMPLETED = "completed", _("completed")
        CLOSED = "closed", _("closed")
        REFUNDING = "refunding", _("refunding")
        REFUNDED = "refunded", _("refunded")

    order_no = models.CharField(_("order number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        "miniprogram_api.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT, db_index=True
    )
    total_fen = models.PositiveBigIntegerField(_("total"))
    remark = models.CharField(_("remark"), max_length=200, blank=True)
    # The delivery address, copied (named as wx.chooseAddress names it).
    user_name = models.CharField(_("recipient"), max_length=64)
    tel_number = models.CharField(_("phone"), max_length=32, db_index=True)
    province_name = models.CharField(_("province"), max_length=32)
    city_name = models.CharField(_("city"), max_length=32)
    county_name = models.CharField(_("county"), max_length=32)
    detail_info = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True)
    national_code = models.CharField(_("national code"), max_length=16, blank=True)
    carrier = models.CharField(_("carrier"), max_length=64, blank=True)
    tracking_no = models.CharField(_("tracking number"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("ordered at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    refunding_at = models.DateTimeField(_("refund started at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="orders_order_customer_recent"),
            models.Index(fields=["status", "created_at"], name="orders_order_status_created"),
        ]
        permissions = [("refund_order", _("Can refund orders and decide refund requests"))]

    def __str__(self) -> str:
        return self.order_no

    @property
    def address_text(self) -> str:
        return f"{self.province_name}{self.city_name}{self.county_name}{self.detail_info}"


class OrderItem(models.Model):
    """One line of an order, as the customer saw it when buying."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    sku = models.ForeignKey("catalog.Sku", on_delete=models.SET_NULL, null=True, related_name="+")
    product_id = models.BigIntegerField(_("product id"))
    title = models.CharField(_("title"), max_length=120)
    sku_code = models.CharField(_("SKU code"), max_length=64)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # The cover's stored name, not a copy of the file.
    image = models.ImageField(_("image"), max_length=200, blank=True)
    unit_price_fen = models.PositiveBigIntegerField(_("unit price"))
    quantity = models.PositiveSmallIntegerField(_("quantity"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("order item")
        verbose_name_plural = _("order items")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total_fen(self) -> int:
        return self.unit_price_fen * self.quantity


class OrderEvent(models.Model):
    """The audit trail: one row per status change (and one for the order's creation)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from status"), max_length=20, choices=Order.Status.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=Order.Status.choices)
    actor = models.CharField(
        _("changed by"), max_length=64, help_text=_("customer:<id>, staff:<id> or system:<job>")
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class RefundRequest(models.Model):
    """A customer's request for a refund; staff approve or decline it."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        APPROVED = "approved", _("approved")
        DECLINED = "declined", _("declined")

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="refund_requests")
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=64, blank=True)
    decline_reason = models.CharField(
        _("reason for declining"), max_length=200, blank=True, help_text=_("The customer reads it on the order.")
    )
    refund_no = models.CharField(_("refund number"), max_length=64, blank=True,
                                 help_text=_("The refund started when the request was approved."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="open"), name="orders_refundrequest_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.status}"


class ShippingUpload(models.Model):
    """The order's shipping information as uploaded to WeChat (发货信息管理): queued when the
    order ships, retried while WeChat is unavailable; a refusal is kept for staff to read."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to upload")
        UPLOADED = "uploaded", _("uploaded")
        REFUSED = "refused", _("refused by WeChat")
        NO_PAYMENT = "no_payment", _("not paid through WeChat Pay: nothing to upload")

    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.CASCADE,
                                 related_name="shipping_upload")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    transaction_id = models.CharField(_("WeChat transaction id"), max_length=64, blank=True)
    errcode = models.IntegerField(_("WeChat errcode"), null=True, blank=True)
    error = models.CharField(_("last error"), max_length=255, blank=True)
    uploaded_at = models.DateTimeField(_("uploaded at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("shipping upload")
        verbose_name_plural = _("shipping uploads")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.status}"
