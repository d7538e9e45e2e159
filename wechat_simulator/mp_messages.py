"""Customer-service (5.3), template (5.1) and subscribe (5.2) messages.

Each goes only to a user of the calling app: a follower of the official account, or an
openid the mini-program issued (a login code); any other openid answers 40003."""

from wechat_simulator import state
from wechat_simulator.mp import MINIAPP, MP, SimError, SimRequest, app_kind, endpoint
from wechat_simulator.mp_users import OPENID
from wechat_simulator.subscribe_rules import value_ok

# msgtype → fields its object must carry (spec 5.3 and WeChat's custom/send page).
CUSTOM_FIELDS = {
    "text": ("content",),
    "image": ("media_id",),
    "voice": ("media_id",),
    "mpnews": ("media_id",),
    "video": ("media_id", "thumb_media_id"),
    "music": ("musicurl", "hqmusicurl", "thumb_media_id"),
    "news": ("articles",),
    "mpnewsarticle": ("article_id",),
    "msgmenu": ("list",),
    "wxcard": ("card_id",),
    "miniprogrampage": ("title", "appid", "pagepath", "thumb_media_id"),
}
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")


@endpoint("cgi-bin/message/custom/send", app=None)
def custom_send(sim: SimRequest) -> dict:
    data = sim.json()
    user = _recipient(sim, data.get("touser"))
    if user.get("window_closed"):
        raise SimError(45015, "response out of time limit or subscription is canceled")
    msgtype = data.get("msgtype")
    if msgtype not in CUSTOM_FIELDS:
        raise SimError(40008, "invalid message type")
    body = data.get(msgtype)
    if not isinstance(body, dict):
        raise SimError(47001, f"data format error hint: {msgtype} object missing")
    for name in CUSTOM_FIELDS[msgtype]:
        if not body.get(name):
            raise SimError(44004 if msgtype == "text" else 47001,
                           f"empty {msgtype}.{name}" if msgtype == "text"
                           else f"data format error hint: {msgtype}.{name} missing")
    if msgtype == "news":
        _check_article(body["articles"])
    return {"errcode": 0, "errmsg": "ok"}


@endpoint("cgi-bin/message/template/send")
def template_send(sim: SimRequest) -> dict:
    data = sim.json()
    _recipient(sim, data.get("touser"))
    if not data.get("template_id"):
        raise SimError(40037, "invalid template_id")
    _check_data(data.get("data"))
    miniprogram = data.get("miniprogram")
    if miniprogram is not None and not (isinstance(miniprogram, dict) and miniprogram.get("appid")):
        raise SimError(47001, "data format error hint: miniprogram.appid missing")
    client_msg_id = data.get("client_msg_id")
    if client_msg_id is not None and not isinstance(client_msg_id, str):
        raise SimError(47001, "data format error hint: client_msg_id")
    msgid = state.next_msgid()
    if client_msg_id:
        # One message per openid + client_msg_id within 10 minutes (spec 5.1): a repeat is
        # answered like the first and not delivered again.
        first = state.client_msg_claim(sim.appid, data["touser"], client_msg_id, msgid)
        if first != msgid:
            return {"errcode": 0, "errmsg": "ok", "msgid": first}
    state.notice_deliver(appid=sim.appid, kind="template", message=data, msgid=msgid)
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@endpoint("cgi-bin/message/subscribe/send", app=MINIAPP)
def subscribe_send(sim: SimRequest) -> dict:
    """Every send is granted unless a test injects 43101 with state.fail_next."""
    data = sim.json()
    _recipient(sim, data.get("touser"))
    if not data.get("template_id"):
        raise SimError(40037, "invalid template_id")
    if data.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
        raise SimError(47001, "data format error hint: miniprogram_state")
    if data.get("lang", "zh_CN") not in LANGS:
        raise SimError(47001, "data format error hint: lang")
    for key, item in _check_data(data.get("data")).items():
        if not value_ok(key, item["value"]):
            raise SimError(47003, f"argument invalid! data.{key}.value invalid")
    msgid = state.next_msgid()
    state.notice_deliver(appid=sim.appid, kind="subscribe", message=data, msgid=msgid)
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


def _recipient(sim: SimRequest, openid) -> dict:
    """The calling app's user `openid` (40003 otherwise); for the official account, one who
    still follows it (43004 otherwise)."""
    user = state.user_get(sim.appid, openid) if isinstance(openid, str) and OPENID.match(openid) else None
    if user is None:
        raise SimError(40003, "invalid openid")
    if app_kind(sim.appid) == MP and not user.get("subscribe"):
        raise SimError(43004, "require subscribe")
    return user


def _check_data(data) -> dict:
    """`{"key": {"value": "…"}}`, or 47001."""
    if not isinstance(data, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()
    ):
        raise SimError(47001, 'data format error hint: data must map keys to {"value": "..."}')
    return data


def _check_article(articles) -> None:
    if not isinstance(articles, list) or len(articles) != 1:
        raise SimError(44003, "empty news data: send exactly one article")
    article = articles[0]
    if not isinstance(article, dict) or not article.get("title") or not article.get("url"):
        raise SimError(44003, "empty news data: the article needs title and url")
