"""cgi-bin/token and cgi-bin/stable_token (spec 3)."""

import time

from wechat_simulator import state
from wechat_simulator.mp import SimError, SimRequest, endpoint, known_apps


@endpoint("cgi-bin/token", methods=("GET",), token=False, app=None)
def token(sim: SimRequest) -> dict:
    """Each call issues a NEW token; the previous one works about five more minutes."""
    appid = _check_credentials(sim.query)
    return _answer(state.token_issue(appid, "token"))


@endpoint("cgi-bin/stable_token", methods=("POST",), token=False, app=None)
def stable_token(sim: SimRequest) -> dict:
    """Normal mode returns the current token; force_refresh issues a new one."""
    data = sim.json()
    appid = _check_credentials(data)
    force = data.get("force_refresh", False)
    if not isinstance(force, bool):
        raise SimError(47001, "data format error hint: force_refresh must be a boolean")
    return _answer(state.stable_token(appid, force_refresh=force))


def _check_credentials(data: dict) -> str:
    if data.get("grant_type") != "client_credential":
        raise SimError(40002, "invalid grant_type")
    appid = data.get("appid", "")
    apps = known_apps()
    if appid not in apps:
        raise SimError(40013, "invalid appid")
    if data.get("secret") != apps[appid]:
        raise SimError(40125, "invalid appsecret")
    return appid


def _answer(record: dict) -> dict:
    return {"access_token": record["token"], "expires_in": int(record["expires_at"] - time.time())}
