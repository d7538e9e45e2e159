"""wechatpy clients whose every request goes through `client.request()` (spec 8, wechatpy).

wechatpy 1.8.18 hard-codes its hosts three ways: the client's API_BASE_URL (`cgi-bin/`),
group classes with their own API_BASE_URL passed as `api_base_url` (`wxa`, `datacube`, …)
and absolute URLs (the `customservice` account and session calls). `_request` turns all
three back into a path under WECHAT_API_BASE, so the token cache, the one retry, the
timeouts, the error map and the log line apply to wechatpy calls too.
"""

from urllib.parse import urlsplit

from wechatpy import WeChatClient

from . import transport
from .apps import APPS, credentials
from .client import request
from .errors import GatewayRejected
from .tokens import get_access_token

WECHAT_HOST = "api.weixin.qq.com"
# Paths WeChat serves without an access token (wechatpy sends one to jscode2session anyway).
TOKENLESS_PATHS = frozenset({"sns/jscode2session", "cgi-bin/token", "cgi-bin/stable_token"})


class ProjectWeChatClient(WeChatClient):
    """A wechatpy client for one of our apps; credentials are read from settings per use."""

    def __init__(self, app: str):
        if app not in APPS:
            raise ValueError(f"unknown WeChat app {app!r}")
        self.app = app
        super().__init__(appid="", secret="", auto_retry=False)

    # wechatpy's groups read client.appid / client.secret (code_to_session sends both).
    # wechatpy's __new__ walks every attribute before __init__ sets `app`; these properties
    # then raise AttributeError, which inspect.getmembers skips, so nothing is fetched early.
    appid = property(lambda self: credentials(self.app).appid, lambda self, value: None)
    secret = property(lambda self: credentials(self.app).secret, lambda self, value: None)

    def __call__(self) -> "ProjectWeChatClient":
        """`mp_client()` and `mp_client` are the same client."""
        return self

    @property
    def access_token(self) -> str:
        return get_access_token(self.app)

    def fetch_access_token(self) -> dict:
        return {"access_token": get_access_token(self.app)}

    def _request(self, method, url_or_endpoint, **kwargs):
        base = kwargs.pop("api_base_url", self.API_BASE_URL)
        path = wechat_path(url_or_endpoint, base)
        params = dict(kwargs.pop("params", None) or {})
        params.pop("access_token", None)
        data = kwargs.pop("data", None)
        if isinstance(data, dict | list):
            data = transport.encode_json(data)
        elif isinstance(data, str):
            data = data.encode("utf-8")
        result_processor = kwargs.pop("result_processor", None)
        result = request(self.app, method, path, params=params, body=data,
                         files=kwargs.pop("files", None), token=path not in TOKENLESS_PATHS)
        return result_processor(result) if result_processor else result


def wechat_path(url_or_endpoint: str, base: str) -> str:
    """The path under api.weixin.qq.com that wechatpy meant; refuse any other host."""
    url = url_or_endpoint if url_or_endpoint.startswith(("http://", "https://")) else base + url_or_endpoint
    parts = urlsplit(url)
    if parts.hostname != WECHAT_HOST or parts.query:
        raise GatewayRejected(None, f"wechatpy asked for {parts.scheme}://{parts.hostname}{parts.path}, "
                                    "which the client layer does not route")
    return parts.path.lstrip("/")


mp_client = ProjectWeChatClient("mp")
miniapp_client = ProjectWeChatClient("miniapp")
