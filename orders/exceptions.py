from wxbackend.api import DomainError, NotFound


class CartItemNotFound(NotFound):
    default_detail = "No such item in your cart."


class CartQuantityExceeded(DomainError):
    code = "quantity_exceeded"
    status = 400
    default_detail = "A cart line holds at most 99 units."


class CartFull(DomainError):
    code = "cart_full"
    status = 400
    default_detail = "The cart holds at most 100 different SKUs."


class AddressNotFound(NotFound):
    default_detail = "No such address."


class AddressLimitReached(DomainError):
    code = "address_limit"
    status = 400
    default_detail = "At most 20 addresses per customer."
