"""Mini-program login and phone number (spec 4): single-use codes from state.py."""

import time

from wechat_simulator import state
from wechat_simulator.mp import MINIAPP, SimError, SimRequest, endpoint, known_apps

CODE_ERRORS = {
    "invalid": (40029, "invalid code"),
    "expired": (40029, "invalid code, code expired"),
    "used": (40163, "code been used"),
}


@endpoint("sns/jscode2session", methods=("GET",), token=False, app=MINIAPP)
def jscode2session(sim: SimRequest) -> dict:
    q = sim.query
    apps = known_apps()
    if q.get("appid") not in apps:
        raise SimError(40013, "invalid appid")
    if q.get("secret") != apps[q["appid"]]:
        raise SimError(40125, "invalid appsecret")
    if q.get("grant_type") != "authorization_code":
        raise SimError(40002, "invalid grant_type")
    record = _take("login", q.get("js_code", ""), q["appid"])
    answer = {"openid": record["openid"], "session_key": record["session_key"]}
    if record.get("unionid"):
        answer["unionid"] = record["unionid"]
    return answer


@endpoint("wxa/business/getuserphonenumber", app=MINIAPP)
def getuserphonenumber(sim: SimRequest) -> dict:
    record = _take("phone", str(sim.json().get("code", "")), sim.appid)
    phone, country = record["phone"], record["country_code"]
    pure = phone.removeprefix("+" + country) if phone.startswith("+") else phone
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": phone,
            "purePhoneNumber": pure,
            "countryCode": country,
            "watermark": {"timestamp": int(time.time()), "appid": sim.appid},
        },
    }


def _take(kind: str, code: str, appid: str) -> dict:
    record, problem = state.code_take(kind, code, appid=appid)
    if record is None:
        raise SimError(*CODE_ERRORS[problem])
    return record
