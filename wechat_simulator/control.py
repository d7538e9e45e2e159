"""The simulator's own page and controls: what the project sent, and the codes and users a
front-end developer needs to log in against `make run` (tests use state.py directly).

Each control answers JSON to a JSON request, and the page again (with the result) to a form.
"""

import datetime
import json
import secrets
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from wechat_simulator import mp_shipping, pay_state, state, store

PAGE_CALLS = 200


def _enabled():
    if not settings.WECHAT_SIMULATOR_ENABLED:
        raise Http404("the WeChat simulator is off")


@require_GET
def index(request):
    _enabled()
    return _page(request)


@require_GET
def calls_json(request):
    """Recorded calls, newest first; `?path=cgi-bin/user/info`, `?api=pay`, `?limit=50`."""
    _enabled()
    found = store.calls(path=request.GET.get("path"), api=request.GET.get("api"),
                        limit=_int(request.GET.get("limit"), store.MAX_LISTED))
    return JsonResponse({"calls": found[::-1]}, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@require_POST
def login_code(request):
    """{"openid"?, "unionid"?, "appid"?} → {"code", "openid", "appid"}: a code for POST
    /api/v1/auth/login, which only the mini-program `appid` (default: ours) can exchange."""
    _enabled()
    data = _input(request)
    appid = data.get("appid") or state.miniapp_appid()
    if appid != state.miniapp_appid():
        return JsonResponse({"code": "invalid", "detail": "appid is not the mini-program's"}, status=400)
    openid = data.get("openid") or "o_sim_" + secrets.token_hex(8)
    code = state.issue_login_code(openid, data.get("unionid") or None, appid=appid)
    return _answer(request, {"code": code, "openid": openid, "appid": appid})


@csrf_exempt
@require_POST
def phone_code(request):
    """{"phone"} → {"code"}: a code for POST /api/v1/me/phone."""
    _enabled()
    phone = _input(request).get("phone") or "13800138000"
    return _answer(request, {"code": state.issue_phone_code(phone), "phone": phone})


@csrf_exempt
@require_POST
def user(request):
    """{"openid", …user/info fields} → {"user"}: create or change a follower of the
    official account."""
    _enabled()
    data = _input(request)
    openid = data.pop("openid", "")
    if not openid:
        return JsonResponse({"code": "invalid", "detail": "openid is required"}, status=400)
    return _answer(request, {"user": state.set_user(openid, **{k: v for k, v in data.items() if v != ""})})


@csrf_exempt
@require_POST
def fail_next(request):
    """{"path", "errcode", "errmsg"?, "times"?, "delay"?}: make the next call(s) fail."""
    _enabled()
    data = _input(request)
    if not data.get("path"):
        return JsonResponse({"code": "invalid", "detail": "path is required"}, status=400)
    state.fail_next(data["path"], _int(data.get("errcode"), -1), str(data.get("errmsg") or ""),
                    times=_int(data.get("times"), 1), delay=float(data.get("delay") or 0))
    return _answer(request, {"path": data["path"], "errcode": _int(data.get("errcode"), -1)})


@csrf_exempt
@require_POST
def pay(request):
    """{"out_trade_no"}: the customer pays an unpaid trade; the signed payment notification
    goes to the project (as `POST /__sim__/pay/__control__/pay/<out_trade_no>` does)."""
    _enabled()
    from wechat_simulator.pay import pay_and_notify

    number = str(_input(request).get("out_trade_no") or "")
    try:
        result = pay_and_notify(number)
    except pay_state.PayStateError as exc:
        if request.content_type == "application/json":
            return JsonResponse({"code": "invalid", "detail": str(exc)}, status=409)
        result = {"detail": str(exc)}
    return _answer(request, result)


def _unpaid_trades() -> list[dict]:
    trades = [pay_state.order_get(n) for n in reversed(pay_state.order_numbers())]
    return [
        {**t, "total_yuan": f"{t['total_fen'] // 100}.{t['total_fen'] % 100:02d}"}
        for t in trades if t and t["trade_state"] == "NOTPAY" and not pay_state.is_expired(t)
    ]


def _input(request) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}
    return request.POST.dict()


def _answer(request, result: dict):
    if request.content_type == "application/json":
        return JsonResponse(result, json_dumps_params={"ensure_ascii": False})
    return _page(request, result)


def _page(request, result: dict | None = None):
    calls = store.calls(limit=PAGE_CALLS)[::-1]
    for call in calls:
        call["body_text"] = _pretty(call.get("body"))
        call["response_text"] = _pretty(call.get("response"))
    shipments = [{**u, "body_text": _pretty(u["body"])} for u in reversed(mp_shipping.uploads())]
    return render(request, "wechat_simulator/index.html", {
        "calls": calls, "result": _pretty(result) if result else "", "unpaid": _unpaid_trades(),
        "shipments": shipments, "notices": _notices(),
    })


def _notices() -> list[dict]:
    """Delivered template and subscribe messages, newest first, as the phone shows them: the
    keywords in order, and what tapping opens."""
    shown = []
    for message in reversed(state.notices(limit=PAGE_CALLS)):
        data = message.get("data") or {}
        miniprogram = message.get("miniprogram") or {}
        opens = message.get("page") or miniprogram.get("pagepath") or message.get("url") or ""
        shown.append({
            "kind": "订阅消息" if message["kind"] == "subscribe" else "模板消息",
            "at": datetime.datetime.fromtimestamp(message["at"], tz=ZoneInfo(settings.TIME_ZONE)),
            "touser": message.get("touser", ""), "template_id": message.get("template_id", ""),
            "lines": [(key, item.get("value", "")) for key, item in data.items() if isinstance(item, dict)],
            "opens": opens, "state": message.get("miniprogram_state", ""),
        })
    return shown


def _pretty(value) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=1)[:4000]


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
