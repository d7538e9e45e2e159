"""WeChat Pay's notify endpoints (spec 6.4 and 7): record, verify, apply, then answer as
the configured API version expects. Success stops WeChat's retries; a failure answer makes
it retry (for about 24 hours), so only what we could not record or apply asks for one."""

import json
import logging

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.models import PaymentNotification
from payments.refunds import refund_notification_receive
from payments.services import payment_notification_receive
from wxbackend.middleware import lean_endpoint
from wxbackend.wechat import paycrypto

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
Verdict = PaymentNotification.Verdict
# What each verdict answers: (HTTP status, message); None is success.
ANSWERS = {
    Verdict.APPLIED: None,
    Verdict.DUPLICATE: None,
    Verdict.LATE: None,
    Verdict.UNKNOWN: None,  # recorded for staff; not ours to retry for a day
    Verdict.REJECTED: (401, "signature or content not verified"),
    Verdict.MISMATCH: (400, "amount, merchant or app does not match the order"),
    Verdict.FAILED: (500, "could not be applied now; retry"),
}


def _answer(status: int | None, message: str = "") -> HttpResponse:
    if settings.WECHAT_PAY_API_VERSION == "v2":
        fields = {"return_code": "SUCCESS", "return_msg": "OK"} if status is None else {
            "return_code": "FAIL", "return_msg": message}
        return HttpResponse(paycrypto.v2_dict_to_xml(fields), status=status or 200, content_type="text/xml")
    if status is None:
        return HttpResponse(status=204)
    return HttpResponse(json.dumps({"code": "FAIL", "message": message}), status=status,
                        content_type="application/json")


def _receive(request, receive) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not (declared.isascii() and declared.isdigit()) or int(declared) > MAX_BODY_BYTES:
        body = request.read(MAX_BODY_BYTES)
        PaymentNotification.objects.create(
            kind=PaymentNotification.Kind.REFUND if "refund" in request.path else PaymentNotification.Kind.PAYMENT,
            api_version=settings.WECHAT_PAY_API_VERSION, body=body.decode("utf-8", "replace"),
            verdict=Verdict.REJECTED, detail=f"body over {MAX_BODY_BYTES} bytes ({declared!r} declared)",
        )
        return _answer(413, "body too large")
    try:
        record = receive(headers=request.headers, body=request.read(MAX_BODY_BYTES + 1))
    except Exception:
        logger.exception("pay notification not recorded")
        return _answer(500, "not recorded; retry")
    status_message = ANSWERS[record.verdict]
    return _answer(*status_message) if status_message else _answer(None)


@lean_endpoint
@csrf_exempt
@require_POST
def payment_notify(request):
    return _receive(request, payment_notification_receive)


@lean_endpoint
@csrf_exempt
@require_POST
def refund_notify(request):
    return _receive(request, refund_notification_receive)
