"""The two WeChat apps the project speaks for, with credentials read at call time."""

from dataclasses import dataclass

from django.conf import settings

APPS = ("mp", "miniapp")


@dataclass(frozen=True)
class AppCredentials:
    app: str
    appid: str
    secret: str


def credentials(app: str) -> AppCredentials:
    """`mp` is the official account, `miniapp` the mini-program."""
    if app == "mp":
        return AppCredentials(app, settings.WECHAT_MP_APPID, settings.WECHAT_MP_SECRET)
    if app == "miniapp":
        return AppCredentials(app, settings.WECHAT_MINIAPP_APPID, settings.WECHAT_MINIAPP_SECRET)
    raise ValueError(f"unknown WeChat app {app!r}: expected one of {APPS}")
