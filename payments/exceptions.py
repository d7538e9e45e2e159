from wxbackend.api import Conflict, DomainError, ServiceUnavailable


class OrderAlreadyPaid(Conflict):
    code = "already_paid"
    default_detail = "This order is paid already."


class OrderNotPayable(Conflict):
    code = "not_payable"
    default_detail = "This order can no longer be paid (closed, or its payment time is up)."


class PayUnavailableError(ServiceUnavailable):
    code = "wechat_pay_unavailable"
    default_detail = "WeChat Pay is unreachable or busy; try again in a moment."


class PayRefusedError(DomainError):
    code = "wechat_pay_error"
    status = 502
    default_detail = "WeChat Pay refused the payment."


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    default_detail = "The refunds would exceed what was paid."


class NothingToRefund(Conflict):
    code = "not_refundable"
    default_detail = "This order has no payment to refund."
