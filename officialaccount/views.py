"""HTTP edge of the official account: the server callback and the product link used in
news replies. The callback answers in WeChat's terms: plain text, a status, no tracebacks."""

import logging
from urllib.parse import quote, urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from officialaccount import links
from officialaccount.callback import MAX_BODY_BYTES, callback_handle, callback_verify_url
from officialaccount.exceptions import MalformedMessage
from wxbackend.api import DomainError
from wxbackend.middleware import lean_endpoint

logger = logging.getLogger(__name__)

SIGNED_PARAMS = ("signature", "timestamp", "nonce", "echostr", "encrypt_type", "msg_signature")


def _refuse(exc: DomainError) -> HttpResponse:
    logger.info("callback refused", extra={"event": {"code": exc.code, "status": exc.status}})
    return HttpResponse(exc.code, status=exc.status, content_type="text/plain")


# WeChat's servers sign requests instead; there is no browser session, user or language here,
# so the session/auth/messages/locale/CSRF middleware are skipped (security headers stay).
@lean_endpoint
@csrf_exempt
def callback(request):
    """GET: URL verification. POST: a message or event (plaintext, compatible or safe mode)."""
    query = request.GET
    try:
        if any(len(query.getlist(name)) > 1 for name in SIGNED_PARAMS):
            # Parameter pollution: a proxy or WAF could read another copy than we do.
            raise MalformedMessage("duplicated query parameter")
        if request.method == "GET":
            return HttpResponse(callback_verify_url(query=query), content_type="text/plain")
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()) or int(declared) > MAX_BODY_BYTES:
            return HttpResponse("payload_too_large", status=413, content_type="text/plain")
        body = request.read(MAX_BODY_BYTES + 1)
        answer = callback_handle(query={k: query.get(k, "") for k in query}, body=body)
    except DomainError as exc:
        return _refuse(exc)
    except Exception:
        # Nothing was recorded (or we cannot tell): a 5xx makes WeChat retry. It reads no
        # HTML error page, and no traceback may leave the server.
        logger.exception("callback failed")
        return HttpResponse("server_error", status=500, content_type="text/plain")
    return HttpResponse(answer, content_type="application/xml" if answer.startswith("<") else "text/plain")


class _WeixinRedirect(HttpResponseRedirect):
    allowed_schemes = ["weixin"]


def product_link(request, product_id: int):
    """Open the mini-program's product page from a news article: to the product's URL link
    (wxa/generate_urllink, cached; see officialaccount.links), or, when WeChat cannot give
    one, through WeChat's plaintext URL scheme `weixin://dl/business/`."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    from catalog.models import Product

    # Only for a product that exists: a made-up id costs no WeChat call (nor its quota).
    if Product.objects.filter(pk=product_id).exists():
        url_link = links.product_url_link(product_id)
        if url_link:
            return HttpResponseRedirect(url_link)
    query = urlencode(
        {"appid": settings.WECHAT_MINIAPP_APPID, "path": "pages/product/detail",
         "query": f"id={int(product_id)}", "env_version": "release"},
        quote_via=quote,
    )
    return _WeixinRedirect(f"weixin://dl/business/?{query}")
