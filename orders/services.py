"""Writes to the cart and addresses. Each service locks the customer's row first, so that
concurrent requests of one customer (two taps on "add to cart", two defaults) serialize."""

from django.apps import apps
from django.db import transaction
from django.db.models import F

from catalog.selectors import sku_get_on_sale
from orders.exceptions import AddressLimitReached, CartFull, CartQuantityExceeded
from orders.models import CART_MAX_QUANTITY, Address, Cart, CartItem
from orders.selectors import address_get, cart_item_get

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
