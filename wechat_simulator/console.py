"""The console (/__sim__/console/): a developer or a merchant plays a WeChat user against
`make run`, and sees what the project sent back to "WeChat".

The page (templates/wechat_simulator/console.html and console.js) has two phones:

- **the official account**: what the user types or taps goes to `mp_push`, which builds
  the XML WeChat would push, signs it with the configured token (and encrypts it with the
  EncodingAESKey when one is set: safe mode), posts it over HTTP to our
  /wechat/mp/callback/ as WeChat would, and opens the passive reply. Messages the project
  sends later (customer service, template) come from the simulator's call log.
- **the mini-program**: the page calls /api/v1/ itself with the customer's Bearer token,
  as the mini-program would. The simulator only plays the phone: a wx.login code (the
  existing control), and `pay`, which takes the `wx.requestPayment` parameters, checks
  `paySign` as WeChat's client does, and pays the trade behind the prepay_id (the signed
  notification goes to the project).

Debug only, like the whole simulator: it posts to the server that served the page, which
must be able to take a second request meanwhile (runserver and the test servers are
threaded).
"""

import base64
import binascii
import secrets
import time
from pathlib import Path
from xml.etree.ElementTree import ParseError

import requests
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from officialaccount import crypto
from wechat_simulator import pay_state, state, store
from wechat_simulator.control import _enabled, _input
from wxbackend.wechat import paycrypto

ASSET = Path(__file__).resolve().parent / "assets" / "console.js"
GH_ID = "gh_sim_console"  # the official account's original id as the pushes name it
PUSH_TIMEOUT = 5  # WeChat waits five seconds for an answer, then retries
MAX_PHOTO_BYTES = 2 * 1024 * 1024  # WeChat's image message limit
CHAT_KEEP = 200  # exchanges kept per user
# Calls by which the project reaches a user: the official account's chat and the notices.
CHAT_PATHS = ("cgi-bin/message/custom/send", "cgi-bin/message/template/send")
NOTICE_PATHS = ("cgi-bin/message/subscribe/send", "cgi-bin/message/template/send",
                "cgi-bin/message/custom/send", "cgi-bin/message/wxopen/template/uniform_send")
EVENTS = {"subscribe": "subscribe", "unsubscribe": "unsubscribe", "click": "CLICK", "view": "VIEW",
          "scan": "SCAN"}


class ConsoleInputError(ValueError):
    """What the page sent cannot become a push (the answer is a 400 naming it)."""


@require_GET
def page(request):
    _enabled()
    return render(request, "wechat_simulator/console.html", {
        "mp_mode": "safe" if settings.WECHAT_MP_ENCODING_AES_KEY else "plaintext",
        "pay_version": settings.WECHAT_PAY_API_VERSION,
        "openid": "o_console_" + secrets.token_hex(3),
        "labels": {
            "pay": _("Pay"), "cancel": _("Cancel"), "refund": _("Ask for a refund"),
            "received": _("Confirm receipt"), "finish": _("Finish at WeChat Pay"),
            "reason": _("Why do you want the money back?"), "empty_cart": _("The cart is empty."),
            "choose_photo": _("Choose a photo first."), "paid": _("Paid at WeChat"),
        },
    })


@require_GET
def script(request):
    """The page's own script, served from here (no CDN, no static files set-up needed)."""
    _enabled()
    return FileResponse(ASSET.open("rb"), content_type="text/javascript; charset=utf-8")


@csrf_exempt
@require_POST
def mp_push(request):
    """{"openid", "kind": text|image|subscribe|unsubscribe|click|view|scan, "content"?,
    "event_key"?, "photo_base64"?, "photo_type"?} → what was pushed and the reply opened."""
    _enabled()
    data = _input(request)
    try:
        openid = _openid(data.get("openid"))
        xml = _message_xml(request, openid, data)
    except ConsoleInputError as exc:
        return JsonResponse({"code": "invalid", "detail": str(exc)}, status=400)
    if state.user_get(state.mp_appid(), openid) is None:
        state.set_user(openid, nickname="控制台用户")  # a follower, so user/info answers
    url = request.build_absolute_uri(reverse("officialaccount:callback"))
    exchange = {"at": time.time(), "openid": openid, "kind": data.get("kind"), "pushed": xml}
    exchange.update(push_to_callback(url, xml, openid=openid))
    _chat_add(openid, exchange)
    return JsonResponse(exchange, json_dumps_params={"ensure_ascii": False})


def push_to_callback(url: str, xml: str, *, openid: str) -> dict:
    """POST `xml` to the callback as WeChat does in the configured mode; the answer opened:
    {"mode", "status", "reply_raw", "reply": {...} or None, "error"?}."""
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    query = {"signature": crypto.sha1_signature(settings.WECHAT_MP_TOKEN, timestamp, nonce),
             "timestamp": timestamp, "nonce": nonce, "openid": openid}
    body, mode = xml, "plaintext"
    if settings.WECHAT_MP_ENCODING_AES_KEY:
        mode = "safe"
        encrypted = crypto.encrypt(encoding_aes_key=settings.WECHAT_MP_ENCODING_AES_KEY,
                                   appid=settings.WECHAT_MP_APPID, message=xml)
        body = f"<xml><ToUserName><![CDATA[{GH_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        query.update(encrypt_type="aes", msg_signature=crypto.sha1_signature(
            settings.WECHAT_MP_TOKEN, timestamp, nonce, encrypted))
    try:
        answer = requests.post(url, params=query, data=body.encode("utf-8"),
                               headers={"Content-Type": "text/xml"}, timeout=PUSH_TIMEOUT)
    except requests.RequestException as exc:
        return {"mode": mode, "status": None, "reply_raw": "", "reply": None, "error": type(exc).__name__}
    raw = answer.content.decode("utf-8", "replace")
    result = {"mode": mode, "status": answer.status_code, "reply_raw": raw[:8000], "reply": None}
    if answer.status_code == 200 and raw.startswith("<xml"):
        try:
            result["reply"] = _open_reply(raw, encrypted=mode == "safe")
        except (ValueError, ParseError, DefusedXmlException, crypto.CryptoError) as exc:
            result["error"] = f"reply unreadable: {exc}"
    return result


@require_GET
def mp_chat(request):
    """{"messages": [...]}: one user's conversation, oldest first: the pushes and passive
    replies, and what the project sent the user later (customer service, template)."""
    _enabled()
    openid = request.GET.get("openid", "")
    entries = [
        {"at": e["at"], "from": "user", "kind": e["kind"], "pushed": e["pushed"], "status": e["status"],
         "reply": e["reply"], "error": e.get("error", "")}
        for e in _chat(openid)
    ]
    entries += [{"at": c["at"], "from": "project", "path": c["path"], "verdict": c["verdict"], "body": c["body"]}
                for c in _calls_to(openid, CHAT_PATHS)]
    entries.sort(key=lambda e: e["at"])
    return JsonResponse({"messages": entries}, json_dumps_params={"ensure_ascii": False})


@require_GET
def notices(request):
    """{"notices": [...]}: the messages the project sent to `openid` through WeChat
    (subscribe, template and customer-service messages), newest first."""
    _enabled()
    found = _calls_to(request.GET.get("openid", ""), NOTICE_PATHS)
    return JsonResponse({"notices": [{"n": c["n"], "at": c["at"], "path": c["path"], "verdict": c["verdict"],
                                      "body": c["body"]} for c in reversed(found)]},
                        json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def pay(request):
    """The `wx.requestPayment` parameters → the customer pays: `paySign` is checked as the
    WeChat client checks it, then the trade behind the prepay_id is paid and its signed
    notification posted to the project."""
    _enabled()
    from wechat_simulator.pay import pay_and_notify

    params = _input(request)
    package = str(params.get("package") or "")
    if not package.startswith("prepay_id="):
        return JsonResponse({"code": "invalid", "detail": "package must be prepay_id=…"}, status=400)
    if not _pay_sign_ok(params):
        return JsonResponse({"code": "sign_error", "detail": "paySign does not match: WeChat refuses"}, status=400)
    trade = _trade_by_prepay_id(package.removeprefix("prepay_id="))
    if trade is None:
        return JsonResponse({"code": "not_found", "detail": "no trade has this prepay_id"}, status=404)
    try:
        return JsonResponse(pay_and_notify(trade["out_trade_no"]))
    except pay_state.PayStateError as exc:
        return JsonResponse({"code": "invalid", "detail": str(exc)}, status=409)


@require_GET
def refunds(request):
    """{"refunds": [...]}: refunds the project asked for, newest trade first; those still
    PROCESSING can be finished (POST /__sim__/pay/__control__/refund/<out_refund_no>)."""
    _enabled()
    found = []
    for number in reversed(pay_state.order_numbers()):
        for refund in pay_state.refunds_of(number):
            found.append({key: refund.get(key) for key in
                          ("out_refund_no", "out_trade_no", "refund_fen", "total_fen", "status")})
    return JsonResponse({"refunds": found})


# --- helpers ------------------------------------------------------------------------------


def _openid(value) -> str:
    openid = str(value or "").strip()
    if not openid or len(openid) > 64 or not openid.isascii() or not openid.replace("_", "").replace("-", "").isalnum():
        raise ConsoleInputError("openid: 1-64 letters, digits, _ or -")
    return openid


def _cdata(value: str) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _message_xml(request, openid: str, data: dict) -> str:
    """The push WeChat would send for what the user did (spec 2.1, 2.2)."""
    kind = str(data.get("kind") or "text")
    head = (f"<ToUserName>{_cdata(GH_ID)}</ToUserName><FromUserName>{_cdata(openid)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>")
    if kind == "text":
        content = str(data.get("content") or "")
        if not content.strip():
            raise ConsoleInputError("content: type something")
        return (f"<xml>{head}<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(content)}</Content>"
                f"<MsgId>{state.next_msgid()}</MsgId></xml>")
    if kind == "image":
        media_id = _store_photo(data)
        pic_url = request.build_absolute_uri(reverse("sim-console-media", args=[media_id]))
        return (f"<xml>{head}<MsgType>{_cdata('image')}</MsgType><PicUrl>{_cdata(pic_url)}</PicUrl>"
                f"<MediaId>{_cdata(media_id)}</MediaId><MsgId>{state.next_msgid()}</MsgId></xml>")
    if kind in EVENTS:
        key = str(data.get("event_key") or "")
        if kind in ("click", "view", "scan") and not key:
            raise ConsoleInputError("event_key: a menu key, a URL or a scene")
        key_xml = f"<EventKey>{_cdata(key)}</EventKey>" if key or kind != "unsubscribe" else ""
        return f"<xml>{head}<MsgType>{_cdata('event')}</MsgType><Event>{_cdata(EVENTS[kind])}</Event>{key_xml}</xml>"
    raise ConsoleInputError("kind: text, image, subscribe, unsubscribe, click, view or scan")


def _store_photo(data: dict) -> str:
    """Keep the photo at the simulator (media/get serves it) and return its MediaId."""
    try:
        content = base64.b64decode(str(data.get("photo_base64") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ConsoleInputError("photo_base64: not base64")
    if not content:
        raise ConsoleInputError("photo_base64: choose a photo")
    if len(content) > MAX_PHOTO_BYTES:
        raise ConsoleInputError("photo_base64: larger than 2 MB")
    content_type = str(data.get("photo_type") or "image/jpeg")
    if content_type not in ("image/jpeg", "image/png", "image/gif"):
        raise ConsoleInputError("photo_type: image/jpeg, image/png or image/gif")
    media_id = "console_" + secrets.token_hex(12)
    state.set_media(media_id, content, content_type)
    return media_id


@require_GET
def media(request, media_id: str):
    """The PicUrl of a photo the console sent (WeChat's would be on mmbiz.qpic.cn)."""
    _enabled()
    found = state.media_get(media_id)
    if found is None:
        raise Http404("no such photo")
    return HttpResponse(found["content"], content_type=found["content_type"])


def _open_reply(raw: str, *, encrypted: bool) -> dict:
    """The passive reply's fields; in safe mode its MsgSignature is checked and it is opened."""
    root = fromstring(raw, forbid_dtd=True)
    if encrypted:
        sealed = root.findtext("Encrypt") or ""
        expected = crypto.sha1_signature(settings.WECHAT_MP_TOKEN, root.findtext("TimeStamp") or "",
                                         root.findtext("Nonce") or "", sealed)
        if expected != root.findtext("MsgSignature"):
            raise ValueError("MsgSignature does not match")
        root = fromstring(crypto.decrypt(encoding_aes_key=settings.WECHAT_MP_ENCODING_AES_KEY,
                                         appid=settings.WECHAT_MP_APPID, encrypted=sealed), forbid_dtd=True)
    reply = {"msg_type": root.findtext("MsgType") or "", "content": root.findtext("Content") or ""}
    articles = [{name.lower(): item.findtext(name) or "" for name in ("Title", "Description", "PicUrl", "Url")}
                for item in root.iterfind("Articles/item")]
    if articles:
        reply["articles"] = articles
    media_id = root.findtext("Image/MediaId")
    if media_id:
        reply["media_id"] = media_id
    return reply


def _chat_add(openid: str, exchange: dict) -> None:
    number = store.incr(f"console:chat:{openid}:seq")
    store.put(f"console:chat:{openid}:{number}", exchange)


def _chat(openid: str) -> list[dict]:
    last = store.get(f"console:chat:{openid}:seq") or 0
    found = (store.get(f"console:chat:{openid}:{n}") for n in range(max(1, last - CHAT_KEEP + 1), last + 1))
    return [entry for entry in found if entry]


def _calls_to(openid: str, paths: tuple[str, ...]) -> list[dict]:
    if not openid:
        return []
    return [c for c in store.calls() if c["path"] in paths and isinstance(c.get("body"), dict)
            and c["body"].get("touser") == openid]


def _trade_by_prepay_id(prepay_id: str) -> dict | None:
    for number in reversed(pay_state.order_numbers()):
        trade = pay_state.order_get(number)
        if trade and trade.get("prepay_id") == prepay_id:
            return trade
    return None


def _pay_sign_ok(params: dict) -> bool:
    """WeChat's client checks paySign before it shows the payment sheet."""
    fields = {name: str(params.get(name) or "") for name in ("appId", "timeStamp", "nonceStr", "package", "signType")}
    given = str(params.get("paySign") or "")
    if fields["signType"] == "RSA":
        message = f"{fields['appId']}\n{fields['timeStamp']}\n{fields['nonceStr']}\n{fields['package']}\n"
        public = paycrypto.private_key_from_path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH).public_key()
        return paycrypto.rsa_verify(public, message.encode(), given)
    try:
        expected = paycrypto.v2_sign(fields, settings.WECHAT_PAY_API_KEY, fields["signType"] or "MD5")
    except ValueError:
        return False
    return secrets.compare_digest(expected, given)
