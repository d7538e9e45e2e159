"""What we answer: a small value type for replies, rendered either as a passive-reply XML
(spec 2.3) or as a customer-service message (spec 5.3)."""

from dataclasses import dataclass, field

from officialaccount.wxml import cdata

MAX_ARTICLES_FOR_MESSAGE = 1  # a passive reply to a user's message (spec 2.3)
MAX_ARTICLES_FOR_EVENT = 8  # a passive reply to an event


@dataclass(frozen=True)
class Article:
    title: str
    description: str = ""
    pic_url: str = ""
    url: str = ""


@dataclass(frozen=True)
class MiniProgramCard:
    title: str
    appid: str
    pagepath: str
    thumb_media_id: str


@dataclass(frozen=True)
class Reply:
    """`kind`: text, image, news, miniprogram (sent by customer service) or none."""

    kind: str
    text: str = ""
    media_id: str = ""
    articles: tuple[Article, ...] = field(default_factory=tuple)
    card: MiniProgramCard | None = None
    # No rule or product answered (a default, out-of-hours or no reply): a person should,
    # so the message opens the customer's conversation in the inbox.
    needs_person: bool = False

    @property
    def needs_customer_service(self) -> bool:
        """True when the answer cannot be a passive reply and follows as a CS message."""
        return self.kind == "miniprogram"

    def summary(self) -> str:
        """A one-line description for the conversation view."""
        if self.kind == "text":
            return self.text
        if self.kind == "news":
            return " / ".join(a.title for a in self.articles)
        if self.kind == "image":
            return f"[图片] {self.media_id}"
        if self.kind == "miniprogram" and self.card:
            return f"[小程序卡片] {self.card.title} {self.card.pagepath}"
        return ""


NO_REPLY = Reply(kind="none")


def render_passive(reply: Reply, *, to_user: str, from_user: str, create_time: int, for_event: bool) -> str:
    """The plaintext passive-reply XML, or `success` when nothing is answered passively."""
    head = (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
    )
    if reply.kind == "text" and reply.text:
        return head + f"<MsgType><![CDATA[text]]></MsgType><Content>{cdata(reply.text)}</Content></xml>"
    if reply.kind == "image" and reply.media_id:
        return (
            head + "<MsgType><![CDATA[image]]></MsgType>"
            f"<Image><MediaId>{cdata(reply.media_id)}</MediaId></Image></xml>"
        )
    if reply.kind == "news" and reply.articles:
        limit = MAX_ARTICLES_FOR_EVENT if for_event else MAX_ARTICLES_FOR_MESSAGE
        articles = reply.articles[:limit]
        items = "".join(
            f"<item><Title>{cdata(a.title)}</Title><Description>{cdata(a.description)}</Description>"
            f"<PicUrl>{cdata(a.pic_url)}</PicUrl><Url>{cdata(a.url)}</Url></item>"
            for a in articles
        )
        return (
            head + f"<MsgType><![CDATA[news]]></MsgType><ArticleCount>{len(articles)}</ArticleCount>"
            f"<Articles>{items}</Articles></xml>"
        )
    return "success"


def customer_service_payload(reply: Reply, *, openid: str) -> dict | None:
    """The `message/custom/send` body for `reply` (spec 5.3), or None if there is nothing."""
    if reply.kind == "text" and reply.text:
        return {"touser": openid, "msgtype": "text", "text": {"content": reply.text}}
    if reply.kind == "image" and reply.media_id:
        return {"touser": openid, "msgtype": "image", "image": {"media_id": reply.media_id}}
    if reply.kind == "news" and reply.articles:
        a = reply.articles[0]  # customer service sends one article
        return {
            "touser": openid, "msgtype": "news",
            "news": {"articles": [{"title": a.title, "description": a.description, "url": a.url, "picurl": a.pic_url}]},
        }
    if reply.kind == "miniprogram" and reply.card:
        c = reply.card
        return {
            "touser": openid, "msgtype": "miniprogrampage",
            "miniprogrampage": {
                "title": c.title, "appid": c.appid, "pagepath": c.pagepath, "thumb_media_id": c.thumb_media_id,
            },
        }
    return None
