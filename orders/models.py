"""The customer's cart and delivery addresses. Orders join them here later (issue 6)."""

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
