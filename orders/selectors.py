"""Reads of the cart, addresses and orders, always scoped to one customer: another customer's ids
are indistinguishable from ids that do not exist."""

from django.db.models import QuerySet

from orders.exceptions import AddressNotFound, CartItemNotFound, OrderNotFound
from orders.models import Address, CartItem, Order


def cart_item_list(*, customer_id: int) -> QuerySet[CartItem]:
    """The customer's cart lines with SKU and product (one query)."""
    return (
        CartItem.objects.filter(cart__customer_id=customer_id)
        .select_related("sku", "sku__product")
        .order_by("-created_at", "-id")
    )


def cart_item_get(*, customer_id: int, item_id: int) -> CartItem:
    item = cart_item_list(customer_id=customer_id).filter(pk=item_id).first()
    if item is None:
        raise CartItemNotFound()
    return item


def address_list(*, customer_id: int) -> QuerySet[Address]:
    return Address.objects.filter(customer_id=customer_id).order_by("-is_default", "-updated_at", "-id")


def address_get(*, customer_id: int, address_id: int) -> Address:
    address = Address.objects.filter(customer_id=customer_id, pk=address_id).first()
    if address is None:
        raise AddressNotFound()
    return address


def order_list(*, customer_id: int, status: str = "") -> QuerySet[Order]:
    """The customer's orders, newest first, with items and refund requests (three queries
    per page, whatever its length)."""
    qs = Order.objects.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id").prefetch_related("items", "refund_requests")


def order_get(*, customer_id: int, order_no: str) -> Order:
    """One of the customer's orders; another customer's answers OrderNotFound."""
    order = order_list(customer_id=customer_id).filter(order_no=order_no).first()
    if order is None:
        raise OrderNotFound()
    return order
