"""The simulated api.weixin.qq.com: one view that checks, answers and records every call.

Endpoints live in the mp_* modules and register themselves with `@endpoint(path, …)`;
each receives a `SimRequest` and returns the answer dict (or an `HttpResponse` for a
file, like media/get) or raises `SimError(errcode)`.
Order per call: injected failure (state.fail_next), known path, HTTP method, access token,
whether the token's app may use the API (48001), endpoint.
Views never touch the database, so tests that use plain `django_db` can call them.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from wechat_simulator import state, store

MASKED_KEYS = frozenset({"access_token", "secret", "js_code", "session_key"})


class SimError(Exception):
    """WeChat's error answer: `{"errcode", "errmsg"}` (HTTP 200 unless `status` says)."""

    def __init__(self, errcode: int, errmsg: str, status: int = 200):
        super().__init__(errmsg)
        self.errcode, self.errmsg, self.status = errcode, errmsg, status


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict
    raw_body: bytes
    appid: str | None = None  # the app the access token belongs to
    _data: object = field(default=None, repr=False)

    def json(self) -> dict:
        """The JSON body as an object, or 47001 like WeChat."""
        if self._data is None:
            try:
                self._data = json.loads(self.raw_body or b"null")
            except ValueError:
                self._data = "invalid"
        if not isinstance(self._data, dict):
            raise SimError(47001, "data format error hint: body is not a JSON object")
        return self._data


MP, MINIAPP = "mp", "miniapp"


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    token: bool
    app: str | None  # MP or MINIAPP: only that kind of app may call it; None: both
    handler: Callable[[SimRequest], dict | HttpResponse]


ROUTES: dict[str, Endpoint] = {}


def endpoint(path: str, *, methods: tuple[str, ...] = ("POST",), token: bool = True,
             app: str | None = MP):
    """Register a handler for `path` (as WeChat spells it, no leading slash), callable with
    a token of an `app` (MP, MINIAPP, or None for both)."""

    def register(handler):
        ROUTES[path] = Endpoint(path, methods, token, app, handler)
        return handler

    return register


@csrf_exempt
def api_view(request, route: str):
    if not settings.WECHAT_SIMULATOR_ENABLED:
        raise Http404("the WeChat simulator is off")
    sim = SimRequest(request.method, route, dict(request.GET.items()), request.body)
    try:
        status, answer = 200, _answer(sim)
    except SimError as exc:
        status, answer = exc.status, {"errcode": exc.errcode, "errmsg": exc.errmsg}
    if isinstance(answer, HttpResponse):  # a file (media/get): bytes, not JSON
        store.record_call(api="api", method=request.method, path=route, query=mask(sim.query),
                          body=None, status=answer.status_code, verdict="ok",
                          response={"content_type": answer["Content-Type"], "bytes": len(answer.content)})
        return answer
    errcode = answer.get("errcode", 0)
    store.record_call(
        api="api", method=request.method, path=route, query=mask(sim.query),
        body=mask(_body_for_log(request, sim)), status=status,
        verdict="ok" if not errcode and status < 400 else f"{errcode} {answer.get('errmsg', '')}",
        response=mask(answer),
    )
    return JsonResponse(answer, status=status, json_dumps_params={"ensure_ascii": False})


def _answer(sim: SimRequest) -> dict:
    failure = state.failure_take(sim.path)
    if failure:
        time.sleep(failure["delay"])
        if failure["errcode"] or failure["status"] != 200:
            raise SimError(failure["errcode"], failure["errmsg"], failure["status"])
    found = ROUTES.get(sim.path)
    if found is None:  # WeChat answers HTTP 200 with an errcode, so SDKs see one
        raise SimError(40066, "invalid url (simulator does not know it)")
    if sim.method not in found.methods:
        raise SimError(43002 if "POST" in found.methods else 43001,
                       f"require {' or '.join(found.methods)} method")
    if found.token:
        sim.appid = _token_owner(sim.query.get("access_token", ""))
        if found.app and app_kind(sim.appid) != found.app:
            raise SimError(48001, "api unauthorized")
    return found.handler(sim)


def _token_owner(token: str) -> str:
    if not token:
        raise SimError(41001, "access_token missing")
    record = state.token_lookup(token)
    if record is None:
        raise SimError(40001, "invalid credential, access_token is invalid or not latest")
    if record["expires_at"] < time.time():
        raise SimError(42001, "access_token expired")
    return record["appid"]


def known_apps() -> dict[str, str]:
    """appid → secret for the two apps in settings (read per call)."""
    return {settings.WECHAT_MP_APPID: settings.WECHAT_MP_SECRET,
            settings.WECHAT_MINIAPP_APPID: settings.WECHAT_MINIAPP_SECRET}


def app_kind(appid: str | None) -> str | None:
    """MP for the official account in settings, MINIAPP for the mini-program, else None."""
    return {settings.WECHAT_MP_APPID: MP, settings.WECHAT_MINIAPP_APPID: MINIAPP}.get(appid or "")


def mask(value):
    """`value` with tokens, secrets, js_code and session_key hidden (the token keeps its
    last 6 characters, so a person can tell tokens apart)."""
    if isinstance(value, dict):
        return {k: _mask_one(k, v) if k in MASKED_KEYS else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _mask_one(key: str, value) -> str:
    if not value:
        return ""
    return "***" + str(value)[-6:] if key == "access_token" else "***"


def _body_for_log(request, sim: SimRequest):
    if request.FILES:
        return {"files": sorted(request.FILES)}
    try:
        return json.loads(sim.raw_body) if sim.raw_body else None
    except ValueError:
        return sim.raw_body[:2048].decode("utf-8", "replace")
