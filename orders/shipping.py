"""Uploading a shipped order's parcel to WeChat (发货信息管理): queued through the outbox
in the transaction that ships the order, run by a worker, retried while WeChat is
unavailable. The result stays on the order's ShippingUpload for staff."""

import logging

from django.apps import apps
from django.utils import timezone

from orders import gateway
from orders.models import Order, ShippingUpload
from wxbackend.outbox import outbox_put
from wxbackend.wechat import GatewayRejected, GatewayUnavailable

logger = logging.getLogger(__name__)
Status = ShippingUpload.Status

# WeChat wants its own company codes (get_delivery_list); staff type names.
EXPRESS_CODES = {
    "顺丰": "SF", "圆通": "YTO", "中通": "ZTO", "申通": "STO", "韵达": "YD", "京东": "JD", "极兔": "JTSD",
    "邮政": "YZPY", "EMS": "EMS", "德邦": "DBL",
}


def express_code(carrier: str) -> str:
    """The WeChat code of `carrier` ("顺丰速运" → "SF"); a code typed as such is kept."""
    text = carrier.strip()
    for name, code in EXPRESS_CODES.items():
        if name in text or text.upper() == code:
            return code
    return text.upper() if text.isascii() else text


def _masked(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else phone


def order_shipping_queue(*, order: Order) -> None:
    """Record the upload as pending and put it in the outbox, in the caller's transaction."""
    from orders.tasks import order_shipping_upload_task

    ShippingUpload.objects.update_or_create(order=order, defaults={"status": Status.PENDING, "error": ""})
    outbox_put(task=order_shipping_upload_task, args=[order.pk], key=f"order:{order.pk}:shipped")


def order_shipping_upload(*, order_id: int) -> ShippingUpload:
    """Upload the order's parcel for its paid WeChat Pay trade. A finished upload returns at
    once (a redelivered task); a refusal is recorded, not retried; GatewayUnavailable is
    recorded and raised so that the outbox tries again with backoff."""
    record = ShippingUpload.objects.select_related("order").get(order_id=order_id)
    if record.status != Status.PENDING:
        return record
    order = record.order
    attempt = (
        apps.get_model("payments", "PaymentAttempt").objects
        .filter(order_id=order_id, status="paid").exclude(transaction_id="").order_by("-paid_at", "-pk").first()
    )
    pending = ShippingUpload.objects.filter(pk=record.pk, status=Status.PENDING)
    if attempt is None:
        pending.update(status=Status.NO_PAYMENT, error="")
        return ShippingUpload.objects.get(pk=record.pk)
    items = "; ".join(f"{item.title} × {item.quantity}" for item in order.items.all())
    shipment = gateway.Shipment(
        transaction_id=attempt.transaction_id, payer_openid=attempt.openid, tracking_no=order.tracking_no,
        express_company=express_code(order.carrier), item_desc=items, receiver_contact=_masked(order.tel_number),
        shipped_at=order.shipped_at or timezone.now(),
    )
    try:
        gateway.shipping_info_upload(shipment)
    except GatewayRejected as exc:
        pending.update(status=Status.REFUSED, transaction_id=attempt.transaction_id, errcode=exc.errcode,
                       error=str(exc.errmsg)[:255])
        logger.warning("shipping upload refused", extra={"event": {"order": order_id, "errcode": exc.errcode}})
    except GatewayUnavailable as exc:
        pending.update(transaction_id=attempt.transaction_id, errcode=exc.errcode, error=str(exc)[:255])
        raise
    else:
        pending.update(status=Status.UPLOADED, transaction_id=attempt.transaction_id, errcode=None, error="",
                       uploaded_at=timezone.now())
    return ShippingUpload.objects.get(pk=record.pk)
