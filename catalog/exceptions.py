from wxbackend.api import Conflict, DomainError, NotFound


class ProductNotFound(NotFound):
    default_detail = "No such product on sale."


class SkuUnavailable(DomainError):
    code = "sku_unavailable"
    status = 400
    default_detail = "This SKU does not exist or is not on sale."


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_detail = "Not enough stock."
