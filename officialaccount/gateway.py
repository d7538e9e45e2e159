"""The official account's WeChat API calls, through the shared client layer (which adds the
access token, the base URL, timeouts and the errcode-to-exception map)."""

from dataclasses import dataclass, field

from wxbackend.wechat import GatewayRejected, call

BATCHGET_MAX = 100  # user/info/batchget takes at most 100 openids


@dataclass(frozen=True)
class UserInfo:
    openid: str
    is_subscribed: bool
    unionid: str = ""
    subscribed_at: int | None = None
    subscribe_scene: str = ""
    qr_scene: str = ""
    remark: str = ""
    language: str = ""
    tag_ids: tuple[int, ...] = field(default_factory=tuple)

    @classmethod
    def from_wechat(cls, data: dict) -> "UserInfo":
        subscribed = int(data.get("subscribe") or 0) == 1
        return cls(
            openid=str(data.get("openid") or ""),
            is_subscribed=subscribed,
            unionid=str(data.get("unionid") or ""),
            subscribed_at=int(data["subscribe_time"]) if data.get("subscribe_time") else None,
            subscribe_scene=str(data.get("subscribe_scene") or ""),
            qr_scene=_qr_scene(data),
            remark=str(data.get("remark") or "")[:30],
            language=str(data.get("language") or "")[:16],
            tag_ids=tuple(int(t) for t in data.get("tagid_list") or ()),
        )


def _qr_scene(data: dict) -> str:
    """`qr_scene_str`, else the numeric `qr_scene` (0 means none)."""
    scene_id = data.get("qr_scene") or 0
    return (str(data.get("qr_scene_str") or "") or (str(scene_id) if scene_id else ""))[:64]


@dataclass(frozen=True)
class OpenidPage:
    total: int
    openids: tuple[str, ...]
    next_openid: str


@dataclass(frozen=True)
class QrCode:
    ticket: str
    url: str
    expire_seconds: int | None


def user_info(*, openid: str) -> UserInfo:
    data = call("mp", "GET", "cgi-bin/user/info", params={"openid": openid, "lang": "zh_CN"})
    return UserInfo.from_wechat(data)


def user_batch_info(*, openids: list[str]) -> list[UserInfo]:
    body = {"user_list": [{"openid": o, "lang": "zh_CN"} for o in openids[:BATCHGET_MAX]]}
    data = call("mp", "POST", "cgi-bin/user/info/batchget", json=body)
    return [UserInfo.from_wechat(item) for item in data.get("user_info_list") or ()]


def user_openids(*, next_openid: str = "") -> OpenidPage:
    params = {"next_openid": next_openid} if next_openid else {}
    data = call("mp", "GET", "cgi-bin/user/get", params=params)
    openids = tuple((data.get("data") or {}).get("openid") or ())
    return OpenidPage(total=int(data.get("total") or 0), openids=openids, next_openid=str(data.get("next_openid") or ""))


def user_update_remark(*, openid: str, remark: str) -> None:
    call("mp", "POST", "cgi-bin/user/info/updateremark", json={"openid": openid, "remark": remark})


def custom_send(*, payload: dict) -> None:
    call("mp", "POST", "cgi-bin/message/custom/send", json=payload)


def menu_create(*, buttons: list[dict]) -> None:
    call("mp", "POST", "cgi-bin/menu/create", json={"button": buttons})


def qrcode_create(*, scene: str, expire_seconds: int | None) -> QrCode:
    """A parametric QR code with a string scene: permanent when `expire_seconds` is None."""
    if expire_seconds is None:
        body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
    else:
        body = {
            "expire_seconds": expire_seconds,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
    data = call("mp", "POST", "cgi-bin/qrcode/create", json=body)
    expires = data.get("expire_seconds")
    return QrCode(ticket=str(data.get("ticket") or ""), url=str(data.get("url") or ""),
                  expire_seconds=int(expires) if expires else None)


@dataclass(frozen=True)
class MediaFile:
    """A temporary media file: its bytes, or for a video the `video_url` WeChat gives."""

    content: bytes
    content_type: str
    video_url: str = ""


def media_get(*, media_id: str) -> MediaFile:
    """Download a temporary media file (`media/get`); 40007 (invalid or expired media_id)
    raises GatewayRejected."""
    data = call("mp", "GET", "cgi-bin/media/get", params={"media_id": media_id})
    if "content" in data:
        return MediaFile(content=data["content"], content_type=str(data.get("content_type") or ""))
    return MediaFile(content=b"", content_type="", video_url=str(data.get("video_url") or ""))


@dataclass(frozen=True)
class TagInfo:
    tag_id: int
    name: str


def tags_get() -> list[TagInfo]:
    """The account's tags with their names (`tags/get`)."""
    data = call("mp", "GET", "cgi-bin/tags/get")
    return [TagInfo(tag_id=int(t["id"]), name=str(t.get("name") or "")[:30])
            for t in data.get("tags") or () if isinstance(t, dict) and str(t.get("id", "")).isascii() and str(t.get("id", "")).isdigit()]


@dataclass(frozen=True)
class UrlLink:
    url: str
    expires_at: int  # epoch seconds


URL_LINK_MAX_DAYS = 30  # WeChat caps a URL link's life at 30 days


def url_link_generate(*, path: str, query: str, days: int = URL_LINK_MAX_DAYS, now: int) -> UrlLink:
    """wxa/generate_urllink: an https link (wxaurl.cn) that opens `path?query` of the
    mini-program from outside it, valid `days` days. Called with the mini-program's token."""
    days = max(1, min(days, URL_LINK_MAX_DAYS))
    answer = call("miniapp", "POST", "wxa/generate_urllink", json={
        "path": path, "query": query, "env_version": "release",
        "is_expire": True, "expire_type": 1, "expire_interval": days,
    })
    url = str(answer.get("url_link") or "")
    if not url.startswith("https://"):
        raise GatewayRejected(None, "generate_urllink answered without an https url_link")
    return UrlLink(url=url, expires_at=now + days * 86400)
