"""wxa/generate_urllink: a URL link (https://wxaurl.cn/…) into the mini-program, checked as
WeChat documents it (path, query, expiry of at most 30 days, env_version)."""

import re
import secrets

from wechat_simulator import store
from wechat_simulator.mp import MINIAPP, SimError, SimRequest, endpoint

PATH = re.compile(r"^/?[A-Za-z0-9_\-/.]{0,256}$")
ENV_VERSIONS = ("release", "trial", "develop")
MAX_DAYS = 30


@endpoint("wxa/generate_urllink", app=MINIAPP)
def generate_urllink(sim: SimRequest) -> dict:
    body = sim.json()
    path, query = str(body.get("path", "")), str(body.get("query", ""))
    if not PATH.match(path):
        raise SimError(40165, "invalid weapp pagepath")
    if len(query) > 1024 or not re.match(r"^[\x21-\x7e]*$", query):
        raise SimError(40212, "invalid query")
    if body.get("env_version", "release") not in ENV_VERSIONS:
        raise SimError(85400, "invalid env_version")
    if body.get("expire_type", 0) == 1 and not (isinstance(body.get("expire_interval"), int)
                                                and 1 <= body["expire_interval"] <= MAX_DAYS):
        raise SimError(85402, "invalid expire_interval")
    url = "https://wxaurl.cn/" + secrets.token_urlsafe(9)
    store.put(f"urllink:{url}", {"appid": sim.appid, "path": path, "query": query})
    return {"errcode": 0, "errmsg": "ok", "url_link": url}
