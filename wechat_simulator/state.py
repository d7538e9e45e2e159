"""What the simulated WeChat knows: tokens, single-use codes, users, injected failures.

Tests and the control page change it through the public functions at the top; the
simulator's endpoints read it through the rest. Everything lives in `store` (the shared
cache), so a test, the server thread and every runserver process see the same state.

State is kept per appid, as WeChat keeps it: an openid exists only for the app that
issued it. Followers of the official account come from `set_user`, users of the
mini-program from `issue_login_code` (its openid is that app's from then on).
"""

import base64
import secrets
import time
import uuid

from django.conf import settings

from wechat_simulator import store

TOKEN_SECONDS = 7200
CODE_SECONDS = 300
STABLE_RENEW_BEFORE = 300  # stable_token hands out a new token 5 min before expiry (spec 3)
REPLACED_TOKEN_SECONDS = 300  # a cgi-bin/token token lives ≈5 min after a newer one (spec 3)


# --- For tests and the control page ----------------------------------------------------


def mp_appid() -> str:
    return settings.WECHAT_MP_APPID


def miniapp_appid() -> str:
    return settings.WECHAT_MINIAPP_APPID


def issue_login_code(openid: str, unionid: str | None = None, *, appid: str | None = None,
                     session_key: str | None = None, expires_in: int = CODE_SECONDS) -> str:
    """A `wx.login` code that jscode2session accepts once, within `expires_in` seconds, for
    the mini-program `appid` (default: ours); `openid` becomes a user of that app."""
    appid = appid or miniapp_appid()
    code = "sim_login_" + secrets.token_urlsafe(12)
    store.put(f"login:{code}", {
        "appid": appid, "openid": openid, "unionid": unionid, "expires_at": time.time() + expires_in,
        "session_key": session_key or base64.b64encode(secrets.token_bytes(16)).decode(),
    })
    user = user_get(appid, openid) or {"openid": openid}
    if unionid:
        user["unionid"] = unionid
    _user_put(appid, user)
    return code


def issue_phone_code(phone: str, *, appid: str | None = None, country_code: str = "86",
                     expires_in: int = CODE_SECONDS) -> str:
    """A getPhoneNumber code that getuserphonenumber of the mini-program `appid` (default:
    ours) accepts once, for `phone`."""
    code = "sim_phone_" + secrets.token_urlsafe(12)
    store.put(f"phone:{code}", {"appid": appid or miniapp_appid(), "phone": phone,
                                "country_code": country_code, "expires_at": time.time() + expires_in})
    return code


def set_user(openid: str, *, appid: str | None = None, **info) -> dict:
    """Create or update a follower of the official account `appid` (default: ours); `info`
    holds user/info fields (unionid, subscribe, tagid_list, …) and `window_closed=True`
    (customer-service sends → 45015)."""
    appid = appid or mp_appid()
    user = user_get(appid, openid) or _default_user(openid)
    user.update(info)
    _user_put(appid, user)
    return user


def fail_next(path: str, errcode: int, errmsg: str = "", times: int = 1, delay: float = 0.0,
              status: int = 200) -> None:
    """The next `times` calls to `path` wait `delay` seconds, then answer `errcode` (with
    HTTP `status`). errcode 0 with a delay answers normally, late (timeout tests)."""
    store.put(f"fail:{path.lstrip('/')}", {
        "id": uuid.uuid4().hex, "times": times, "errcode": errcode,
        "errmsg": errmsg or f"simulated error {errcode}", "delay": delay, "status": status,
    })


def tokens(appid: str | None = None) -> list[dict]:
    """The access tokens issued so far, oldest first: {"token", "appid", "kind", "expires_at"}."""
    issued = store.get("token-seq") or 0
    found = [store.get(f"token:{store.get(f'token-n:{n}')}") for n in range(1, issued + 1)]
    return [t for t in found if t and (appid is None or t["appid"] == appid)]


def expire_tokens(appid: str | None = None) -> None:
    """Make every issued token (of `appid`) expired: calls with it answer 42001."""
    for record in tokens(appid):
        record["expires_at"] = time.time() - 1
        store.put(f"token:{record['token']}", record)
        store.pop(f"stable:{record['appid']}")


def set_user_page_size(size: int) -> None:
    """user/get answers `size` openids per page (WeChat: 10000), to test paging."""
    store.put("user_page_size", size)


def qrcode(ticket: str) -> dict | None:
    """What a QR code ticket encodes: {"action_name", "scene", "expire_at"}."""
    return store.get(f"qrcode:{ticket}")


# --- For the simulator's endpoints -------------------------------------------------------


def token_issue(appid: str, kind: str) -> dict:
    """A new access token for `appid` ("token" or "stable" endpoint). A new cgi-bin/token
    token leaves the app's previous one about five more minutes (spec 3)."""
    now = time.time()
    record = {"token": "SIM_" + secrets.token_urlsafe(96), "appid": appid, "kind": kind,
              "expires_at": now + TOKEN_SECONDS}
    store.put(f"token:{record['token']}", record)
    store.put(f"token-n:{store.incr('token-seq')}", record["token"])
    if kind == "token":
        previous = token_lookup(store.get(f"token-latest:{appid}") or "")
        store.put(f"token-latest:{appid}", record["token"])
        if previous and previous["expires_at"] > now + REPLACED_TOKEN_SECONDS:
            previous["expires_at"] = now + REPLACED_TOKEN_SECONDS
            store.put(f"token:{previous['token']}", previous)
    return record


def token_lookup(token: str) -> dict | None:
    return store.get(f"token:{token}") if token else None


def stable_token(appid: str, *, force_refresh: bool) -> dict:
    """stable_token's answer: the current token; a new one when forced, or when none is
    current (the entry lapses 5 min before its token expires, as WeChat renews then)."""
    key, keep = f"stable:{appid}", TOKEN_SECONDS - STABLE_RENEW_BEFORE
    if not force_refresh:
        current = token_lookup(store.get(key) or "")
        if current and current["expires_at"] > time.time():
            return current
    record = token_issue(appid, "stable")
    if force_refresh:
        previous = store.get(key)
        store.put(key, record["token"], timeout=keep)
        if previous:
            store.pop(f"token:{previous}")  # a forced refresh invalidates the old token (40001)
    elif not store.add(key, record["token"], timeout=keep):
        # A concurrent call installed its token first; hand out that one (ours is unused).
        return token_lookup(store.get(key) or "") or record
    return record


def code_take(kind: str, code: str, *, appid: str) -> tuple[dict | None, str]:
    """Use a login or phone code of `appid` once: (record, "") or (None, "invalid" | "used" |
    "expired"). Another app's code is invalid, as at WeChat."""
    record = store.get(f"{kind}:{code}") if code else None
    if record is None or record["appid"] != appid:
        return None, "invalid"
    if not store.add(f"{kind}-used:{code}", True):
        return None, "used"
    if record["expires_at"] < time.time():
        return None, "expired"
    return record, ""


def user_get(appid: str, openid: str) -> dict | None:
    """A user of `appid` (a follower, for the official account), or None: an openid the app
    never issued."""
    return store.get(f"user:{appid}:{openid}")


def user_openids(appid: str) -> list[str]:
    return store.get(f"users:{appid}") or []


def _user_put(appid: str, user: dict) -> None:
    store.put(f"user:{appid}:{user['openid']}", user)
    openids = user_openids(appid)
    if user["openid"] not in openids:
        store.put(f"users:{appid}", [*openids, user["openid"]])


def user_page_size(default: int) -> int:
    return store.get("user_page_size") or default


def failure_take(path: str) -> dict | None:
    """The failure injected for `path`, if one is left (counted atomically)."""
    failure = store.get(f"fail:{path}")
    if not failure:
        return None
    used = store.incr(f"fail-used:{failure['id']}")
    if used >= failure["times"]:
        store.pop(f"fail:{path}")
    return failure if used <= failure["times"] else None


CLIENT_MSG_ID_SECONDS = 600  # template messages: one per openid + client_msg_id (spec 5.1)


def client_msg_claim(appid: str, openid: str, client_msg_id: str, msgid: int) -> int:
    """The msgid of the first message with this client_msg_id to `openid` in 10 minutes:
    `msgid` when this one is the first (atomic, so two concurrent repeats deliver once)."""
    key = f"client-msg:{appid}:{openid}:{client_msg_id}"
    if store.add(key, msgid, timeout=CLIENT_MSG_ID_SECONDS):
        return msgid
    return store.get(key) or msgid


def notice_deliver(*, appid: str, kind: str, message: dict, msgid: int) -> None:
    """Keep a template or subscribe message that reached the customer's WeChat."""
    number = store.incr("notice-seq")
    store.put(f"notice:{number}", {"n": number, "at": time.time(), "appid": appid, "kind": kind,
                                   "msgid": msgid, **message})


def notices(touser: str | None = None, *, limit: int = store.MAX_LISTED) -> list[dict]:
    """Template and subscribe messages delivered, oldest first (repeats WeChat dropped by
    client_msg_id are not here); `touser` keeps one customer's."""
    last = store.get("notice-seq") or 0
    found = store.get_many([f"notice:{n}" for n in range(max(1, last - limit + 1), last + 1)])
    return [m for m in found if touser is None or m.get("touser") == touser]


def next_msgid() -> int:
    return 2_000_000_000 + next_number("msgid")


def next_number(name: str) -> int:
    """1, 2, 3, … per name (atomic)."""
    return store.incr(f"seq:{name}")


def menu_get(appid: str) -> dict | None:
    return store.get(f"menu:{appid}")


def menu_put(appid: str, menu: dict | None) -> None:
    store.put(f"menu:{appid}", menu)


def qrcode_put(ticket: str, record: dict) -> None:
    store.put(f"qrcode:{ticket}", record)


def _default_user(openid: str) -> dict:
    return {"subscribe": 1, "openid": openid, "language": "zh_CN", "subscribe_time": 1764057600,
            "remark": "", "groupid": 0, "tagid_list": [], "subscribe_scene": "ADD_SCENE_QR_CODE",
            "qr_scene": 0, "qr_scene_str": ""}


# --- Media and tags (for tests and the control page) ------------------------------------------


def set_media(media_id: str, content: bytes, content_type: str) -> None:
    """media/get answers `content` with `content_type` for `media_id` (else 40007)."""
    store.put(f"media:{media_id}", {"content": content, "content_type": content_type})


def media_get(media_id: str) -> dict | None:
    return store.get(f"media:{media_id}") if media_id else None


def set_tag(tag_id: int, name: str, *, appid: str | None = None) -> None:
    """tags/get of the official account `appid` (default: ours) lists the tag `tag_id`
    named `name` (created or renamed)."""
    appid = appid or mp_appid()
    tags = tags_all(appid)
    tags[int(tag_id)] = name
    store.put(f"tags:{appid}", tags)


def tags_all(appid: str) -> dict[int, str]:
    """The account's tags, id → name (WeChat's three built-in ones are not listed)."""
    return store.get(f"tags:{appid}") or {}
