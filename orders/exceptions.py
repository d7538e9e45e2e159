from wxbackend.api import Conflict, DomainError, NotFound


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


class OrderNotFound(NotFound):
    default_detail = "No such order."


class OrderAddressUnavailable(DomainError):
    code = "address_unavailable"
    status = 400
    default_detail = "No such address among yours."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "The order cannot make this change in its current status."


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"
    default_detail = "Only paid, shipped or completed orders can ask for a refund."


class RefundRequestOpen(Conflict):
    code = "refund_request_open"
    default_detail = "A refund request for this order is already waiting for the shop."


class RefundRequestDecided(Conflict):
    """`context`: the request's `status` and who `decided_by`."""

    code = "refund_request_decided"
    default_detail = "This refund request has been decided already."
