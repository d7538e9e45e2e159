"""Followers: user/info, user/info/batchget, user/get, updateremark, tag members.

The followers are those set with state.set_user (`subscribe=0` for one who left); any
other openid, like a malformed one, answers 40003 as WeChat does for an openid of
another app.
"""

import re

from wechat_simulator import state
from wechat_simulator.mp import SimError, SimRequest, endpoint

OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
USER_PAGE_SIZE = 10000
# No nickname, headimgurl, sex, city, province or country: WeChat stopped returning
# them on 2021-12-27.
PUBLIC_FIELDS = ("subscribe", "openid", "language", "subscribe_time", "unionid", "remark", "groupid",
                 "tagid_list", "subscribe_scene", "qr_scene", "qr_scene_str")


def follower(appid: str, openid) -> dict:
    """The official account's follower `openid` as stored, or 40003."""
    user = state.user_get(appid, openid) if isinstance(openid, str) and OPENID.match(openid) else None
    if user is None:
        raise SimError(40003, "invalid openid")
    return user


def user_info(appid: str, openid) -> dict:
    """A follower as user/info shows it (one who left shows only subscribe and openid)."""
    user = follower(appid, openid)
    if not user.get("subscribe"):
        return {k: user[k] for k in ("subscribe", "openid", "unionid") if k in user}
    return {k: user[k] for k in PUBLIC_FIELDS if k in user}


@endpoint("cgi-bin/user/info", methods=("GET",))
def info(sim: SimRequest) -> dict:
    return user_info(sim.appid, sim.query.get("openid"))


@endpoint("cgi-bin/user/info/batchget")
def info_batchget(sim: SimRequest) -> dict:
    wanted = sim.json().get("user_list")
    if not isinstance(wanted, list) or not 1 <= len(wanted) <= 100:
        raise SimError(47001, "data format error hint: user_list holds 1 to 100 entries")
    return {"user_info_list": [user_info(sim.appid, item.get("openid") if isinstance(item, dict) else None)
                               for item in wanted]}


@endpoint("cgi-bin/user/get", methods=("GET",))
def user_get(sim: SimRequest) -> dict:
    """Followers in pages; next_openid is the last openid of the page, the last page's
    too ("" only once a page comes back empty)."""
    openids = [o for o in state.user_openids(sim.appid) if state.user_get(sim.appid, o).get("subscribe")]
    after = sim.query.get("next_openid", "")
    start = openids.index(after) + 1 if after in openids else 0
    page = openids[start:start + state.user_page_size(USER_PAGE_SIZE)]
    answer = {"total": len(openids), "count": len(page), "next_openid": page[-1] if page else ""}
    if page:
        answer["data"] = {"openid": page}
    return answer


@endpoint("cgi-bin/user/info/updateremark")
def update_remark(sim: SimRequest) -> dict:
    data = sim.json()
    follower(sim.appid, data.get("openid"))
    remark = data.get("remark", "")
    if not isinstance(remark, str) or len(remark) > 30:
        raise SimError(45065, "remark is longer than 30 characters")
    state.set_user(data["openid"], appid=sim.appid, remark=remark)
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("cgi-bin/tags/members/batchtagging")
def batchtagging(sim: SimRequest) -> dict:
    data = sim.json()
    openids, tagid = data.get("openid_list"), data.get("tagid")
    if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
        raise SimError(40032, "invalid openid list size, at most 50")
    if not isinstance(tagid, int) or tagid not in state.tags_all(sim.appid):
        raise SimError(45159, "invalid tag id")
    users = [follower(sim.appid, openid) for openid in openids]
    for user in users:
        tags = user.get("tagid_list", [])
        if tagid not in tags:
            if len(tags) >= 20:
                raise SimError(45059, "has too many tags")
            state.set_user(user["openid"], appid=sim.appid, tagid_list=[*tags, tagid])
    return {"errcode": 0, "errmsg": "ok"}
