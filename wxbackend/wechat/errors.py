"""What a WeChat call can fail with: two exceptions the callers act on (spec 3 and 5.4).

`GatewayUnavailable` is transient (retry later with backoff); `GatewayRejected` is
permanent (record it, do not retry). Both carry WeChat's `errcode` (None when WeChat never
answered) and `errmsg`.
"""

# Busy (-1) and quota exceeded (45009): WeChat may accept the same call later.
TRANSIENT_ERRCODES = frozenset({-1, 45009})
# The access token was invalid, not the latest, or expired: refresh once and resend.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
# On the token call itself these mean our AppID/AppSecret/IP are wrong (spec 3).
CREDENTIAL_ERRCODES = frozenset({40001, 40002, 40013, 40125, 40164})


class WeChatError(Exception):
    """A WeChat call did not succeed."""

    def __init__(self, errcode: int | None, errmsg: str = ""):
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"[{errcode}] {errmsg}" if errcode is not None else errmsg)


class GatewayUnavailable(WeChatError):
    """Transient: busy, quota, timeout, connection error or HTTP 5xx. Retry with backoff."""


class GatewayRejected(WeChatError):
    """Permanent: WeChat refused the call. Retrying the same call will not help."""


class GatewayMisconfigured(GatewayRejected):
    """WeChat refused our credentials on the token call: fix the settings (no retry)."""


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """The exception for a non-zero errcode."""
    if errcode in TRANSIENT_ERRCODES:
        return GatewayUnavailable(errcode, errmsg)
    return GatewayRejected(errcode, errmsg)
