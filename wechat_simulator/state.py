"""What the simulated WeChat knows: tokens, single-use codes, users, injected failures.

Tests and the control page change it through the public functions at the top; the
simulator's endpoints read it through the rest. Everything lives in `store` (the shared
cache), so a test, the server thread and every runserver process see the same state.
"""

import base64
import secrets
import time
import uuid

from wechat_simulator import store

TOKEN_SECONDS = 7200
CODE_SECONDS = 300
STABLE_RENEW_BEFORE = 300  # stable_token hands out a new token 5 min before expiry (spec 3)


# --- For tests and the control page ----------------------------------------------------


def issue_login_code(openid: str, unionid: str | None = None, *, session_key: str | None = None,
                     expires_in: int = CODE_SECONDS) -> str:
    """A `wx.login` code that jscode2session accepts once, within `expires_in` seconds."""
    code = "sim_login_" + secrets.token_urlsafe(12)
    store.put(f"login:{code}", {
        "openid": openid, "unionid": unionid, "expires_at": time.time() + expires_in,
        "session_key": session_key or base64.b64encode(secrets.token_bytes(16)).decode(),
    })
    return code


def issue_phone_code(phone: str, *, country_code: str = "86", expires_in: int = CODE_SECONDS) -> str:
    """A getPhoneNumber code that getuserphonenumber accepts once, for `phone`."""
    code = "sim_phone_" + secrets.token_urlsafe(12)
    store.put(f"phone:{code}", {"phone": phone, "country_code": country_code,
                                "expires_at": time.time() + expires_in})
    return code


def set_user(openid: str, **info) -> dict:
    """Create or update a follower; `info` holds user/info fields (nickname, unionid,
    subscribe, tagid_list, …) and `window_closed=True` (customer-service sends → 45015)."""
    user = store.get(f"user:{openid}") or _default_user(openid)
    user.update(info)
    store.put(f"user:{openid}", user)
    openids = store.get("users") or []
    if openid not in openids:
        store.put("users", [*openids, openid])
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
    """A new access token for `appid` ("token" or "stable" endpoint)."""
    record = {"token": "SIM_" + secrets.token_urlsafe(96), "appid": appid, "kind": kind,
              "expires_at": time.time() + TOKEN_SECONDS}
    store.put(f"token:{record['token']}", record)
    store.put(f"token-n:{store.incr('token-seq')}", record["token"])
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


def code_take(kind: str, code: str) -> tuple[dict | None, str]:
    """Use a login or phone code once: (record, "") or (None, "invalid" | "used" | "expired")."""
    record = store.get(f"{kind}:{code}") if code else None
    if record is None:
        return None, "invalid"
    if not store.add(f"{kind}-used:{code}", True):
        return None, "used"
    if record["expires_at"] < time.time():
        return None, "expired"
    return record, ""


def user_get(openid: str) -> dict:
    """A follower: the one set with set_user, or a default profile for any other openid."""
    return store.get(f"user:{openid}") or _default_user(openid)


def user_openids() -> list[str]:
    return store.get("users") or []


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


def next_msgid() -> int:
    return 2_000_000_000 + next_number("msgid")


def next_number(name: str) -> int:
    """1, 2, 3, … per name (atomic)."""
    return store.incr(f"seq:{name}")


def menu_get() -> dict | None:
    return store.get("menu")


def menu_put(menu: dict | None) -> None:
    store.put("menu", menu)


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


def set_tag(tag_id: int, name: str) -> None:
    """tags/get lists the tag `tag_id` named `name` (created or renamed)."""
    tags = store.get("tags") or {}
    tags[int(tag_id)] = name
    store.put("tags", tags)


def tags_all() -> dict[int, str]:
    """The account's tags, id → name (WeChat's three built-in ones are not listed)."""
    return store.get("tags") or {}
