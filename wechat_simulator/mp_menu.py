"""Custom menu, parametric QR codes and the customer-service account calls."""

import secrets
import time

from wechat_simulator import state
from wechat_simulator.mp import SimError, SimRequest, endpoint

# Button type → fields it needs. WeChat's limits: 3 top-level buttons with names of at most
# 16 bytes, 5 sub-buttons per button with names of at most 60 bytes, keys 128 bytes, URLs 1024.
BUTTON_FIELDS = {
    "click": ("key",), "view": ("url",), "miniprogram": ("url", "appid", "pagepath"),
    "scancode_push": ("key",), "scancode_waitmsg": ("key",), "pic_sysphoto": ("key",),
    "pic_photo_or_album": ("key",), "pic_weixin": ("key",), "location_select": ("key",),
    "media_id": ("media_id",), "article_id": ("article_id",), "article_view_limited": ("article_id",),
}
# (top-level, sub-button) errcodes: count, type, name size, key size, url size.
ERRCODES = {"count": (40016, 40023), "type": (40017, 40024), "name": (40018, 40025),
            "key": (40019, 40026), "url": (40020, 40027)}
QR_ACTIONS = {"QR_SCENE", "QR_STR_SCENE", "QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"}
QR_MAX_EXPIRE = 2_592_000


@endpoint("cgi-bin/menu/create")
def menu_create(sim: SimRequest) -> dict:
    buttons = sim.json().get("button")
    _check_buttons(buttons, sub=False)
    menu = {"button": [_stored(button) for button in buttons], "menuid": state.next_number("menuid")}
    state.menu_put(sim.appid, menu)
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("cgi-bin/menu/get", methods=("GET",))
def menu_get(sim: SimRequest) -> dict:
    menu = state.menu_get(sim.appid)
    if not menu:
        raise SimError(46003, "menu no exist")
    return {"menu": menu}


@endpoint("cgi-bin/menu/delete", methods=("GET",))
def menu_delete(sim: SimRequest) -> dict:
    state.menu_put(sim.appid, None)
    return {"errcode": 0, "errmsg": "ok"}


def _stored(button: dict) -> dict:
    """A checked button as menu/get shows it: a parent keeps its name and sub-buttons; a
    leaf keeps its type, name and its type's fields, plus an empty `sub_button`."""
    if button.get("sub_button"):
        return {"name": button["name"], "sub_button": [_stored(sub) for sub in button["sub_button"]]}
    kind = button["type"]
    return {"type": kind, "name": button["name"], **{f: button[f] for f in BUTTON_FIELDS[kind]},
            "sub_button": []}


def _check_buttons(buttons, *, sub: bool) -> None:
    level = 1 if sub else 0
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= (5 if sub else 3):
        raise SimError(ERRCODES["count"][level], f"invalid {'sub ' if sub else ''}button size")
    for button in buttons:
        if not isinstance(button, dict):
            raise SimError(47001, "data format error hint: a button is not an object")
        name = button.get("name")
        if not isinstance(name, str) or not 1 <= len(name.encode()) <= (60 if sub else 16):
            raise SimError(ERRCODES["name"][level], "invalid button name size")
        if not sub and button.get("sub_button"):
            _check_buttons(button["sub_button"], sub=True)
            continue
        kind = button.get("type")
        if kind not in BUTTON_FIELDS:
            raise SimError(ERRCODES["type"][level], "invalid button type")
        for field in BUTTON_FIELDS[kind]:
            value, limit = button.get(field), 1024 if field == "url" else 128
            if not isinstance(value, str) or not 1 <= len(value.encode()) <= limit:
                which = "url" if field == "url" else "key"
                raise SimError(ERRCODES[which][level], f"invalid button {field} size")


@endpoint("cgi-bin/qrcode/create")
def qrcode_create(sim: SimRequest) -> dict:
    data = sim.json()
    action = data.get("action_name")
    if action not in QR_ACTIONS:
        raise SimError(40097, "invalid args: action_name")
    scene = (data.get("action_info") or {}).get("scene") or {}
    scene_value = _scene(action, scene)
    permanent = action.startswith("QR_LIMIT")
    expire = None if permanent else min(int(data.get("expire_seconds") or 60), QR_MAX_EXPIRE)
    ticket = "gQ" + secrets.token_urlsafe(30)
    state.qrcode_put(ticket, {"action_name": action, "scene": scene_value,
                              "expire_at": time.time() + expire if expire else None})
    answer = {"ticket": ticket, "url": f"http://weixin.qq.com/q/{secrets.token_urlsafe(16)}"}
    if expire:
        answer["expire_seconds"] = expire
    return answer


def _scene(action: str, scene: dict):
    if action.endswith("STR_SCENE"):
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= 64:
            raise SimError(40097, "invalid args: scene_str must have 1 to 64 characters")
        return value
    value, top = scene.get("scene_id"), (100_000 if action == "QR_LIMIT_SCENE" else 2**32 - 1)
    if not isinstance(value, int) or not 1 <= value <= top:
        raise SimError(40097, f"invalid args: scene_id must be 1 to {top}")
    return value


def _ok(extra: dict | None = None):
    def answer(sim: SimRequest) -> dict:
        return {"errcode": 0, "errmsg": "ok", **(extra or {})}

    return answer


# The customer-service calls wechatpy's `customservice` group makes; they all succeed.
for _path, _methods, _extra in [
    ("customservice/kfaccount/add", ("POST",), None),
    ("customservice/kfaccount/update", ("POST",), None),
    ("customservice/kfaccount/del", ("GET", "POST"), None),
    ("customservice/kfaccount/uploadheadimg", ("POST",), None),
    ("cgi-bin/customservice/getkflist", ("GET",), {"kf_list": []}),
    ("cgi-bin/customservice/getonlinekflist", ("GET",), {"kf_online_list": []}),
    ("customservice/kfsession/create", ("POST",), None),
    ("customservice/kfsession/close", ("POST",), None),
    ("customservice/kfsession/getsession", ("GET",), {"kf_account": "", "createtime": 0}),
    ("customservice/kfsession/getsessionlist", ("GET",), {"sessionlist": []}),
    ("customservice/kfsession/getwaitcase", ("GET",), {"count": 0, "waitcaselist": []}),
    ("customservice/msgrecord/getmsglist", ("POST",), {"recordlist": [], "number": 0, "msgid": 0}),
]:
    endpoint(_path, methods=_methods)(_ok(_extra))
