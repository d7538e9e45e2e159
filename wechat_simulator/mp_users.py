"""Followers: user/info, user/info/batchget, user/get, updateremark, tag members.

Any well-formed openid is a follower with a default profile unless set_user said
otherwise (`subscribe=0` for one who left); malformed ones answer 40003 like WeChat.
"""

import re

from wechat_simulator import state
from wechat_simulator.mp import SimError, SimRequest, endpoint

OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
USER_PAGE_SIZE = 10000
PUBLIC_FIELDS = ("subscribe", "openid", "language", "subscribe_time", "unionid", "remark", "groupid",
                 "tagid_list", "subscribe_scene", "qr_scene", "qr_scene_str", "nickname",
                 "headimgurl", "sex", "city", "province", "country")


def user_info(openid) -> dict:
    """A follower as user/info shows it (one who left shows only subscribe and openid)."""
    if not isinstance(openid, str) or not OPENID.match(openid):
        raise SimError(40003, "invalid openid")
    user = state.user_get(openid)
    if not user.get("subscribe"):
        return {k: user[k] for k in ("subscribe", "openid", "unionid") if k in user}
    return {k: user[k] for k in PUBLIC_FIELDS if k in user}


@endpoint("cgi-bin/user/info", methods=("GET",))
def info(sim: SimRequest) -> dict:
    return user_info(sim.query.get("openid"))


@endpoint("cgi-bin/user/info/batchget")
def info_batchget(sim: SimRequest) -> dict:
    wanted = sim.json().get("user_list")
    if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
        raise SimError(47001, "data format error hint: user_list holds 1 to 100 entries")
    return {"user_info_list": [user_info(item.get("openid") if isinstance(item, dict) else None)
                               for item in wanted]}


@endpoint("cgi-bin/user/get", methods=("GET",))
def user_get(sim: SimRequest) -> dict:
    """Followers in pages; next_openid is the last openid of the page ("" at the end)."""
    openids = [o for o in state.user_openids() if state.user_get(o).get("subscribe")]
    after = sim.query.get("next_openid", "")
    start = openids.index(after) + 1 if after in openids else 0
    size = state.user_page_size(USER_PAGE_SIZE)
    page = openids[start:start + size]
    more = start + size < len(openids)
    answer = {"total": len(openids), "count": len(page), "next_openid": page[-1] if more else ""}
    if page:
        answer["data"] = {"openid": page}
    return answer


@endpoint("cgi-bin/user/info/updateremark")
def update_remark(sim: SimRequest) -> dict:
    data = sim.json()
    user_info(data.get("openid"))
    remark = data.get("remark", "")
    if not isinstance(remark, str) or len(remark) > 30:
        raise SimError(45065, "remark is longer than 30 characters")
    state.set_user(data["openid"], remark=remark)
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("cgi-bin/tags/members/batchtagging")
def batchtagging(sim: SimRequest) -> dict:
    data = sim.json()
    openids, tagid = data.get("openid_list"), data.get("tagid")
    if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
        raise SimError(40032, "invalid openid list size, at most 50")
    if not isinstance(tagid, int) or tagid < 100:
        raise SimError(45159, "invalid tag id")
    for openid in openids:
        user_info(openid)
    for openid in openids:
        tags = state.user_get(openid).get("tagid_list", [])
        if tagid not in tags:
            if len(tags) >= 20:
                raise SimError(45059, "has too many tags")
            state.set_user(openid, tagid_list=[*tags, tagid])
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("cgi-bin/tags/create")
def tags_create(sim: SimRequest) -> dict:
    name = (sim.json().get("tag") or {}).get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 30:
        raise SimError(45158, "tag name too long")
    return {"tag": {"id": 99 + state.next_number("tagid"), "name": name}}
