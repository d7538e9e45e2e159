"""User tags: tags/create stores a tag of the calling account (names are unique, ids
start at 100); tags/get lists its tags with their names and follower counts (counts from
the followers' `tagid_list`). Tests add tags with `state.set_tag`."""

from wechat_simulator import state
from wechat_simulator.mp import SimError, SimRequest, endpoint

MAX_TAGS = 100


@endpoint("cgi-bin/tags/create")
def tags_create(sim: SimRequest) -> dict:
    name = (sim.json().get("tag") or {}).get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 30:
        raise SimError(45158, "tag name too long")
    tags = state.tags_all(sim.appid)
    if name in tags.values():
        raise SimError(45157, "invalid tag name: a tag has this name already")
    if len(tags) >= MAX_TAGS:
        raise SimError(45056, "too many tags")
    tag_id = max([99, *tags]) + 1
    state.set_tag(tag_id, name, appid=sim.appid)
    return {"tag": {"id": tag_id, "name": name}}


@endpoint("cgi-bin/tags/get", methods=("GET",))
def tags_get(sim: SimRequest) -> dict:
    counts: dict[int, int] = {}
    for openid in state.user_openids(sim.appid):
        for tag_id in state.user_get(sim.appid, openid).get("tagid_list") or ():
            counts[tag_id] = counts.get(tag_id, 0) + 1
    return {"tags": [{"id": tag_id, "name": name, "count": counts.get(tag_id, 0)}
                     for tag_id, name in sorted(state.tags_all(sim.appid).items())]}
