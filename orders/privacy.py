"""Addresses, cart and orders in the personal-data export; erasure deletes the addresses and
cart and strips the orders of personal fields. The orders themselves stay (the books keep
every order: number, items, amounts, status and times)."""

from django.db.models import Prefetch

from orders.models import Address, Cart, Order, OrderEvent, OrderItem, RefundRequest
from orders.selectors import address_list, cart_item_list
from wxbackend.privacy import DataSubject, section_register

# The delivery fields copied onto an order: personal, erased with the customer.
ORDER_PERSONAL_FIELDS = ("user_name", "tel_number", "province_name", "city_name", "county_name", "detail_info",
                         "postal_code", "national_code", "remark")


def _addresses(subject: DataSubject) -> list[dict]:
    return [
        {"id": a.pk, "user_name": a.user_name, "tel_number": a.tel_number, "province_name": a.province_name,
         "city_name": a.city_name, "county_name": a.county_name, "detail_info": a.detail_info,
         "postal_code": a.postal_code, "national_code": a.national_code, "is_default": a.is_default}
        for a in address_list(customer_id=subject.customer_id)
    ]


def _cart_items(subject: DataSubject) -> list[dict]:
    return [
        {"id": i.pk, "sku_id": i.sku_id, "quantity": i.quantity, "title": i.sku.product.title}
        for i in cart_item_list(customer_id=subject.customer_id)
    ]


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _orders(subject: DataSubject) -> list[dict]:
    orders = (Order.objects.filter(customer_id=subject.customer_id).order_by("created_at", "id")
              .prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("id"))))
    return [
        {
            "order_no": o.order_no, "status": o.status, "total_fen": o.total_fen, "remark": o.remark,
            "items": [{"title": i.title, "sku_code": i.sku_code, "attributes": i.attributes,
                       "unit_price_fen": i.unit_price_fen, "quantity": i.quantity} for i in o.items.all()],
            "address": {f: getattr(o, f) for f in ORDER_PERSONAL_FIELDS if f != "remark"},
            "carrier": o.carrier, "tracking_no": o.tracking_no,
            "created_at": _iso(o.created_at), "paid_at": _iso(o.paid_at), "shipped_at": _iso(o.shipped_at),
            "completed_at": _iso(o.completed_at), "closed_at": _iso(o.closed_at),
            "refunded_at": _iso(o.refunded_at),
        }
        for o in orders
    ]


def _erase(subject: DataSubject) -> None:
    Address.objects.filter(customer_id=subject.customer_id).delete()
    Cart.objects.filter(customer_id=subject.customer_id).delete()
    orders = Order.objects.filter(customer_id=subject.customer_id)
    orders.update(**dict.fromkeys(ORDER_PERSONAL_FIELDS, ""))
    RefundRequest.objects.filter(order__in=orders).update(reason="")
    # The timeline stays; what the customer wrote in it (a refund reason) goes.
    OrderEvent.objects.filter(order__in=orders, actor__startswith="customer:").update(reason="")


section_register("addresses", export=_addresses, order=30)
section_register("cart_items", export=_cart_items, order=40)
section_register("orders", export=_orders, erase=_erase, order=70)
