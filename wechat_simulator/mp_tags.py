"""User tags: tags/get lists the account's tags with their names and follower counts
(tags set with `state.set_tag`; counts from the users' `tagid_list`)."""

from wechat_simulator import state
from wechat_simulator.mp import SimRequest, endpoint


@endpoint("cgi-bin/tags/get", methods=("GET",))
def tags_get(sim: SimRequest) -> dict:
    counts: dict[int, int] = {}
    for openid in state.user_openids():
        for tag_id in state.user_get(openid).get("tagid_list") or ():
            counts[tag_id] = counts.get(tag_id, 0) + 1
    return {"tags": [{"id": tag_id, "name": name, "count": counts.get(tag_id, 0)}
                     for tag_id, name in sorted(state.tags_all().items())]}
