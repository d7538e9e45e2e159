"""The WeChat client layer: the only code that talks to the official-account and
mini-program APIs (WeChat Pay: `pay.py`). See client.py for `call()`."""

from .client import call, code_to_session
from .errors import GatewayMisconfigured, GatewayRejected, GatewayUnavailable, WeChatError
from .sdk import miniapp_client, mp_client
from .tokens import get_access_token

__all__ = [
    "GatewayMisconfigured",
    "GatewayRejected",
    "GatewayUnavailable",
    "WeChatError",
    "call",
    "code_to_session",
    "get_access_token",
    "miniapp_client",
    "mp_client",
]
