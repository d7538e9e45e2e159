"""Writes to the cart, addresses and orders. Each service locks the customer's row first, so
that concurrent requests of one customer (two taps on "add to cart", two defaults) serialize.

Locks are taken in one order everywhere: the customer's row, then the order's, then SKUs by
id (the stock UPDATEs)."""

import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.selectors import sku_get_on_sale, sku_map_on_sale
from catalog.services import sku_stock_release_many, sku_stock_take_many
from notifications.services import notice_queue_for_order
from orders.exceptions import (
    AddressLimitReached,
    CartFull,
    CartQuantityExceeded,
    InvalidTransition,
    OrderAddressUnavailable,
    RefundNotAllowed,
    RefundRequestDecided,
    RefundRequestOpen,
)
from orders.models import (
    CART_MAX_QUANTITY,
    Address,
    Cart,
    CartItem,
    Order,
    OrderEvent,
    OrderItem,
    RefundRequest,
)
from orders.selectors import address_get, cart_item_get
from orders.shipping import order_shipping_queue
from wxbackend.outbox import outbox_put

CART_MAX_LINES = 100
ADDRESS_MAX = 20
ADDRESS_FIELDS = (
    "user_name", "tel_number", "province_name", "city_name", "county_name", "detail_info",
    "postal_code", "national_code",
)


def _lock_customer(customer_id: int) -> None:
    apps.get_model("miniprogram_api", "Customer").objects.select_for_update().filter(pk=customer_id).exists()


def _cart_for(customer_id: int) -> Cart:
    cart, _ = Cart.objects.get_or_create(customer_id=customer_id)
    return cart


@transaction.atomic
def cart_item_add(*, customer_id: int, sku_id: int, quantity: int) -> tuple[CartItem, bool]:
    """Add `quantity` of an on-sale SKU; a SKU already in the cart gets the quantities
    merged. Returns (item, created). Raises SkuUnavailable, CartQuantityExceeded, CartFull."""
    sku_get_on_sale(sku_id=sku_id)
    _lock_customer(customer_id)
    cart = _cart_for(customer_id)
    item = CartItem.objects.filter(cart=cart, sku_id=sku_id).first()
    if item is not None:
        if item.quantity + quantity > CART_MAX_QUANTITY:
            raise CartQuantityExceeded(
                f"This SKU is already in the cart {item.quantity} times; a line holds at most "
                f"{CART_MAX_QUANTITY}."
            )
        CartItem.objects.filter(pk=item.pk).update(quantity=F("quantity") + quantity)
        created = False
    else:
        if CartItem.objects.filter(cart=cart).count() >= CART_MAX_LINES:
            raise CartFull()
        item = CartItem.objects.create(cart=cart, sku_id=sku_id, quantity=quantity)
        created = True
    return cart_item_get(customer_id=customer_id, item_id=item.pk), created


@transaction.atomic
def cart_item_update(*, customer_id: int, item_id: int, quantity: int) -> CartItem:
    """Set a line's quantity (1–99). Raises CartItemNotFound for another customer's line."""
    # The customer's lock, as in cart_item_add: else an add that checked the old quantity
    # could merge past 99 into the new one (the CHECK constraint would answer a 500).
    _lock_customer(customer_id)
    item = cart_item_get(customer_id=customer_id, item_id=item_id)
    CartItem.objects.filter(pk=item.pk).update(quantity=quantity)
    item.quantity = quantity
    return item


@transaction.atomic
def cart_item_delete(*, customer_id: int, item_id: int) -> None:
    """Remove a line. Raises CartItemNotFound for another customer's line."""
    # The customer's lock, as in cart_item_add: else an add that found this line would
    # merge into a deleted row and answer 404.
    _lock_customer(customer_id)
    item = cart_item_get(customer_id=customer_id, item_id=item_id)
    item.delete()


@transaction.atomic
def address_create(*, customer_id: int, data: dict) -> Address:
    """Add an address; the first one, or one sent with is_default, becomes the default."""
    _lock_customer(customer_id)
    existing = Address.objects.filter(customer_id=customer_id)
    if existing.count() >= ADDRESS_MAX:
        raise AddressLimitReached()
    is_default = bool(data.get("is_default")) or not existing.exists()
    if is_default:
        existing.filter(is_default=True).update(is_default=False)
    fields = {k: data[k] for k in ADDRESS_FIELDS if k in data}
    return Address.objects.create(customer_id=customer_id, is_default=is_default, **fields)


@transaction.atomic
def address_update(*, customer_id: int, address_id: int, data: dict) -> Address:
    """Change an address. Setting is_default moves the default here; a default cannot be
    unset by itself (pick another address as default instead)."""
    _lock_customer(customer_id)
    address = address_get(customer_id=customer_id, address_id=address_id)
    for key in ADDRESS_FIELDS:
        if key in data:
            setattr(address, key, data[key])
    if data.get("is_default") and not address.is_default:
        Address.objects.filter(customer_id=customer_id, is_default=True).update(is_default=False)
        address.is_default = True
    address.save()
    return address


@transaction.atomic
def address_delete(*, customer_id: int, address_id: int) -> None:
    """Delete an address; when it was the default, the most recently used one takes over."""
    _lock_customer(customer_id)
    address = address_get(customer_id=customer_id, address_id=address_id)
    was_default = address.is_default
    address.delete()
    if was_default:
        successor = Address.objects.filter(customer_id=customer_id).order_by("-updated_at", "-id").first()
        if successor is not None:
            Address.objects.filter(pk=successor.pk).update(is_default=True)


# --- Orders ---------------------------------------------------------------------------------

Status = Order.Status

ORDER_MAX_LINES = 50
ORDER_MAX_QUANTITY = CART_MAX_QUANTITY

# The one table of the order's life: which statuses may follow each status.
ALLOWED: dict[str, frozenset[str]] = {
    Status.PENDING_PAYMENT: frozenset({Status.PAID, Status.CLOSED}),
    Status.PAID: frozenset({Status.SHIPPED, Status.REFUNDING}),
    Status.SHIPPED: frozenset({Status.COMPLETED, Status.REFUNDING}),
    Status.COMPLETED: frozenset({Status.REFUNDING}),
    # A full refund that WeChat Pay refuses, closes or cannot pay out (order_refund_abandon)
    # puts the order back where it was.
    Status.REFUNDING: frozenset({Status.REFUNDED, Status.PAID, Status.SHIPPED, Status.COMPLETED}),
    # A payment that arrives after the order closed (the customer paid at the last second)
    # pays it if its stock can be taken again (payments.services.payment_trade_apply).
    Status.CLOSED: frozenset({Status.PAID}),
    Status.REFUNDED: frozenset(),
}

# The timestamp each status stamps when reached.
STAMPS: dict[str, str] = {
    Status.PAID: "paid_at",
    Status.SHIPPED: "shipped_at",
    Status.COMPLETED: "completed_at",
    Status.CLOSED: "closed_at",
    Status.REFUNDING: "refunding_at",
    Status.REFUNDED: "refunded_at",
}

REFUNDABLE = frozenset({Status.PAID, Status.SHIPPED, Status.COMPLETED})


# --- Creation ---------------------------------------------------------------------------------


def _new_order_no() -> str:
    """`20261202225844` + 8 random digits: sortable by time, readable over the phone, and
    within WeChat Pay's 32 characters for out_trade_no."""
    return timezone.localtime().strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**8):08d}"


@transaction.atomic
def order_create(*, customer_id: int, lines: Sequence[tuple[int, int]], address_id: int, remark: str = "") -> Order:
    """Create a pending_payment order from (sku_id, quantity) lines, one per SKU.

    Prices, titles and the address are copied from the rows as they are now; the total is
    computed here. Stock is taken for every line or none; the bought SKUs leave the cart.
    Locks the customer, then the SKUs in id order. Raises ValueError for lines outside the
    limits (the API validates them first), OrderAddressUnavailable, SkuUnavailable,
    OutOfStock (naming the short SKUs)."""
    quantities = dict(lines)
    if not 1 <= len(lines) <= ORDER_MAX_LINES or len(quantities) != len(lines):
        raise ValueError("1–50 lines, one per SKU")
    if not all(1 <= q <= ORDER_MAX_QUANTITY for q in quantities.values()):
        raise ValueError("quantity must be 1–99")
    _lock_customer(customer_id)
    address = Address.objects.filter(customer_id=customer_id, pk=address_id).first()
    if address is None:
        raise OrderAddressUnavailable()
    skus = sku_map_on_sale(sku_ids=quantities)
    sku_stock_take_many(quantities=quantities)
    order = _insert_order(
        customer_id=customer_id,
        total_fen=sum(skus[sku_id].price_fen * quantity for sku_id, quantity in lines),
        remark=remark,
        **{field: getattr(address, field) for field in ADDRESS_FIELDS},
    )
    OrderItem.objects.bulk_create([
        OrderItem(
            order=order, sku=sku, product_id=sku.product_id, title=sku.product.title, sku_code=sku.code,
            attributes=sku.attributes, image=sku.product.cover.name or "", unit_price_fen=sku.price_fen,
            quantity=quantities[sku.id],
        )
        for sku in (skus[sku_id] for sku_id, _ in lines)
    ])
    OrderEvent.objects.create(order=order, to_status=order.status, actor=f"customer:{customer_id}")
    CartItem.objects.filter(cart__customer_id=customer_id, sku_id__in=list(quantities)).delete()
    return order


def _insert_order(**fields) -> Order:
    """Insert with a fresh order number, drawing again on the (rare) clash."""
    for attempt in range(4):
        try:
            with transaction.atomic():  # a savepoint: a clash undoes only this insert
                return Order.objects.create(order_no=_new_order_no(), **fields)
        except IntegrityError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


# --- The state machine ------------------------------------------------------------------------


@transaction.atomic
def order_transition(*, order_id: int, to: str, actor: str, reason: str = "", **fields) -> Order:
    """The only writer of Order.status: lock the order's row, check ALLOWED, stamp the
    status's time, write an OrderEvent, apply the status's own effects (stock back on
    `closed`) and queue its side effects for after commit.

    `fields` (e.g. carrier and tracking_no for `shipped`) are saved with the change. A repeat
    of a change already made returns the order unchanged, without a second event; raises
    InvalidTransition for a change the table does not allow."""
    order = Order.objects.select_for_update().get(pk=order_id)
    old = order.status
    if old == to:
        return order  # already done: a duplicate request or notification is harmless
    if to not in ALLOWED[old] or (_is_return(old, to) and getattr(order, STAMPS[to]) is None):
        # (a refund abandoned goes back only to a stage the order reached)
        raise InvalidTransition(
            f"Order {order.order_no} is {old}; it cannot become {to}.", from_status=old, to_status=to
        )
    for name, value in fields.items():
        setattr(order, name, value)
    order.status = to  # after `fields`, so that they can never set it
    stamped = []
    if not _is_return(old, to):  # back from refunding: paid_at, shipped_at… stay as they were
        setattr(order, STAMPS[to], timezone.now())
        stamped = [STAMPS[to]]
    order.save(update_fields=["status", *stamped, "updated_at", *fields])
    OrderEvent.objects.create(order=order, from_status=old, to_status=to, actor=actor, reason=reason)
    if old == Status.CLOSED:
        _take_stock(order)  # raises OutOfStock, undoing the change: the caller refunds
    if to == Status.CLOSED or (to == Status.REFUNDED and order.shipped_at is None):
        # Goods that never left the warehouse go back on sale; a refund after shipping
        # leaves stock to the merchant, who knows whether the parcel came back.
        _release_stock(order)
    _queue_side_effects(order=order, from_status=old, to_status=to)
    return order


def _is_return(from_status: str, to_status: str) -> bool:
    """A refund abandoned: the order goes back to a status it had, which happened already."""
    return from_status == Status.REFUNDING and to_status != Status.REFUNDED


def _quantities(order: Order) -> dict[int, int]:
    quantities: dict[int, int] = {}
    for sku_id, quantity in order.items.filter(sku__isnull=False).values_list("sku_id", "quantity"):
        quantities[sku_id] = quantities.get(sku_id, 0) + quantity
    return quantities


def _release_stock(order: Order) -> None:
    if quantities := _quantities(order):
        sku_stock_release_many(quantities=quantities)


def _take_stock(order: Order) -> None:
    if quantities := _quantities(order):
        sku_stock_take_many(quantities=quantities)


def _queue_side_effects(*, order: Order, from_status: str, to_status: str) -> None:
    """The side effects of a transition that leave the database (notices, WeChat's
    shipping-info upload, closing the WeChat Pay order), recorded in the transition's
    transaction so that they happen exactly when it commits.

    Tasks of apps that depend on orders are named, not imported (imports point one way);
    keys name the order and the status, so that handlers are idempotent. Going back from
    `refunding` fires nothing: the parcel was uploaded and the notices sent the first time."""
    if _is_return(from_status, to_status):
        return
    if to_status == Status.CLOSED and from_status == Status.PENDING_PAYMENT:
        # Close the order's open WeChat Pay trades, so that nobody pays a closed order; a
        # payment that beat the close pays it after all (or is refunded).
        outbox_put(task="payments.tasks.payment_attempts_close_task", args=[order.pk],
                   key=f"order:{order.pk}:close-trades")
    if to_status == Status.SHIPPED:
        order_shipping_queue(order=order)
    # The customer's notice of paid, shipped, refunded or closed (other statuses: nothing).
    notice_queue_for_order(order=order, event=to_status)


# --- What customers and staff do -----------------------------------------------------------


def order_cancel(*, order_id: int, actor: str) -> Order:
    """pending_payment → closed, stock back on sale. Idempotent; InvalidTransition once paid."""
    return order_transition(order_id=order_id, to=Status.CLOSED, actor=actor, reason="cancelled")


def order_confirm_receipt(*, order_id: int, actor: str) -> Order:
    """shipped → completed. Idempotent; InvalidTransition from other statuses."""
    return order_transition(order_id=order_id, to=Status.COMPLETED, actor=actor, reason="receipt confirmed")


def order_ship(*, order_id: int, carrier: str, tracking_no: str, actor: str) -> Order:
    """paid → shipped with the parcel's carrier and tracking number."""
    return order_transition(
        order_id=order_id, to=Status.SHIPPED, actor=actor, reason=f"{carrier} {tracking_no}",
        carrier=carrier, tracking_no=tracking_no,
    )


@transaction.atomic
def order_refund_abandon(*, order_id: int, actor: str, reason: str) -> Order:
    """refunding → the status the order had before its full refund started (paid, shipped or
    completed), when WeChat Pay refused, closed or could not pay out that refund. Under the
    order's lock; an order no longer refunding is returned unchanged (a repeat is harmless).
    The audit row says why; no side effect fires again."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status != Status.REFUNDING:
        return order
    before = (
        order.events.filter(to_status=Status.REFUNDING).order_by("-created_at", "-id")
        .values_list("from_status", flat=True).first()
    )
    if before not in REFUNDABLE:  # no trace of where it came from: the stage it reached last
        before = Status.COMPLETED if order.completed_at else Status.SHIPPED if order.shipped_at else Status.PAID
    return order_transition(order_id=order.pk, to=before, actor=actor, reason=reason)


@transaction.atomic
def refund_request_create(*, order_id: int, reason: str) -> RefundRequest:
    """Record a customer's refund request for staff to decide. Locks the order (so that it
    cannot change status meanwhile); raises RefundNotAllowed outside paid, shipped and
    completed, RefundRequestOpen while another request waits."""
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.status not in REFUNDABLE:
        raise RefundNotAllowed()
    if order.refund_requests.filter(status=RefundRequest.Status.OPEN).exists():
        raise RefundRequestOpen()
    return RefundRequest.objects.create(order=order, reason=reason)


def _open_request_locked(*, request_id: int) -> RefundRequest:
    """The request under its order's lock, then its own (the lock order of refunds); raises
    RefundRequestDecided once another member of staff decided it."""
    order_id = RefundRequest.objects.values_list("order_id", flat=True).get(pk=request_id)
    Order.objects.select_for_update().filter(pk=order_id).exists()
    request = RefundRequest.objects.select_for_update().get(pk=request_id)
    if request.status != RefundRequest.Status.OPEN:
        raise RefundRequestDecided(status=request.status, decided_by=request.decided_by)
    return request


@transaction.atomic
def refund_request_decline(*, request_id: int, reason: str, actor: str) -> RefundRequest:
    """Decline an open request with a reason the customer reads on the order; the order's
    status does not change. Raises RefundRequestDecided if it was decided meanwhile."""
    request = _open_request_locked(request_id=request_id)
    request.status = RefundRequest.Status.DECLINED
    request.decline_reason = reason[:200]
    request.decided_at, request.decided_by = timezone.now(), actor[:64]
    request.save(update_fields=["status", "decline_reason", "decided_at", "decided_by"])
    return request


def refund_request_mark_approved(*, request_id: int, refund_no: str, actor: str) -> RefundRequest:
    """Inside the caller's transaction (payments.refunds.refund_request_approve, which starts
    the refund): lock the open request and record who approved it and which refund it
    became. Raises RefundRequestDecided if it was decided meanwhile."""
    request = _open_request_locked(request_id=request_id)
    request.status = RefundRequest.Status.APPROVED
    request.refund_no = refund_no[:64]
    request.decided_at, request.decided_by = timezone.now(), actor[:64]
    request.save(update_fields=["status", "refund_no", "decided_at", "decided_by"])
    return request


# --- Sweeps (Celery beat) ------------------------------------------------------------------


def _sweep(*, status: str, since: Q, to: str, actor: str, reason: str, batch_size: int) -> int:
    """Move every order in `status` matching `since` to `to`, in batches of ids (keyset by
    id, so a run always ends). Each order changes in its own short transaction, under a lock
    taken with SKIP LOCKED: a row another request or sweeper holds is left for the next run,
    and a sweep never waits. Restart-safe: the database is the only state."""
    moved, last_id = 0, 0
    while True:
        ids = list(
            Order.objects.filter(since, status=status, pk__gt=last_id)
            .order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return moved
        last_id = ids[-1]
        for order_id in ids:
            with transaction.atomic():
                locked = (
                    Order.objects.select_for_update(skip_locked=True)
                    .filter(since, pk=order_id, status=status).exists()
                )
                if locked:
                    order_transition(order_id=order_id, to=to, actor=actor, reason=reason)
                    moved += 1


def order_close_unpaid(*, batch_size: int = 100, exclude_order_ids=()) -> int:
    """Close the orders still unpaid ORDER_PAYMENT_TIMEOUT_MINUTES after creation and give
    their stock back; returns how many were closed. `exclude_order_ids` (ids or a values
    queryset) are left open: payments.services.payments_settle passes the orders whose
    WeChat Pay trades it could not settle yet."""
    cutoff = timezone.now() - timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)
    return _sweep(
        status=Status.PENDING_PAYMENT, since=Q(created_at__lt=cutoff) & ~Q(pk__in=exclude_order_ids), to=Status.CLOSED,
        actor="system:payment_timeout", reason="not paid in time", batch_size=batch_size,
    )


def order_complete_delivered(*, batch_size: int = 100) -> int:
    """Complete the orders shipped more than ORDER_AUTO_COMPLETE_DAYS ago whose customer
    never confirmed receipt; returns how many were completed."""
    cutoff = timezone.now() - timedelta(days=settings.ORDER_AUTO_COMPLETE_DAYS)
    return _sweep(
        status=Status.SHIPPED, since=Q(shipped_at__lt=cutoff), to=Status.COMPLETED,
        actor="system:auto_complete", reason="receipt not confirmed in time", batch_size=batch_size,
    )
