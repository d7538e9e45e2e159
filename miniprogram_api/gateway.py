"""The mini-program's WeChat calls (spec 4), through the shared client layer.

Results are dataclasses; the session_key never leaves this module except in a `Session`
handed straight to the login service, which stores it encrypted.
"""

from dataclasses import dataclass, field

from wxbackend import wechat
from wxbackend.wechat import GatewayRejected, call


@dataclass(frozen=True)
class Session:
    openid: str
    unionid: str
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class Phone:
    phone_number: str
    pure_phone_number: str
    country_code: str
    watermark_appid: str


def code_to_session(*, code: str) -> Session:
    """jscode2session: exchange a wx.login code (no access_token, spec 4 and 8.4)."""
    result = wechat.code_to_session(code)
    if not result.get("openid"):
        raise GatewayRejected(None, "jscode2session answered without an openid")
    return Session(
        openid=str(result["openid"]),
        unionid=str(result.get("unionid") or ""),
        session_key=str(result.get("session_key") or ""),
    )


def phone_number(*, code: str) -> Phone:
    """getuserphonenumber: the phone bound to a getPhoneNumber code."""
    info = call("miniapp", "POST", "wxa/business/getuserphonenumber", json={"code": code}).get("phone_info")
    if not isinstance(info, dict):
        raise GatewayRejected(None, "getuserphonenumber answered without phone_info")
    return Phone(
        phone_number=str(info.get("phoneNumber") or ""),
        pure_phone_number=str(info.get("purePhoneNumber") or ""),
        # Samples show a number; WeChat documents a string (spec 4).
        country_code=str(info.get("countryCode") or ""),
        watermark_appid=str((info.get("watermark") or {}).get("appid") or ""),
    )
