"""Channel adapters: what the inbox needs from a messaging app. The official account is the
only channel; another (a WeCom or Douyin account, say) adds a `Channel` member and an
adapter with the same methods, and the inbox, replies and metrics work unchanged."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.utils.translation import gettext

from inbox.exceptions import ReplyInvalid
from inbox.models import Channel


@dataclass(frozen=True)
class StaffMessage:
    """What staff send: `kind` is text, image (a media_id) or product (a mini-program card of
    a catalog product, with the card's cover `media_id`)."""

    kind: str
    text: str = ""
    media_id: str = ""
    product_id: int | None = None

    def clean(self) -> "StaffMessage":
        text, media_id = self.text.strip(), self.media_id.strip()
        if self.kind == "text" and text:
            return StaffMessage(kind="text", text=text[:2000])
        if self.kind == "image" and media_id:
            return StaffMessage(kind="image", media_id=media_id[:128])
        if self.kind == "product" and self.product_id and media_id:
            return StaffMessage(kind="product", product_id=self.product_id, media_id=media_id[:128])
        raise ReplyInvalid()


class WeChatOfficialAccount:
    """The official account: openids, officialaccount.Message rows, customer-service sends
    within 48 hours of the follower's last message (spec 5.3)."""

    channel = Channel.WECHAT_MP
    window = datetime.timedelta(hours=48)

    def last_customer_message_at(self, contact: str) -> datetime.datetime | None:
        """The follower's last message (events do not open the 48-hour window)."""
        from officialaccount.models import Message

        return (
            Message.objects.filter(openid=contact, direction=Message.Direction.INBOUND)
            .exclude(msg_type="event").order_by("-created_at").values_list("created_at", flat=True).first()
        )

    def is_reachable(self, contact: str) -> bool:
        from officialaccount.models import Follower

        return Follower.objects.filter(openid=contact, is_subscribed=True).exists()

    def messages(self, contact: str, limit: int = 500) -> list:
        from officialaccount.models import Follower
        from officialaccount.selectors import conversation_for_follower

        return conversation_for_follower(follower=Follower(openid=contact), limit=limit)

    def person(self, contact: str):
        from officialaccount.models import Follower

        return Follower.objects.filter(openid=contact).first()

    def label_subquery(self) -> Subquery:
        """The follower's remark (else empty) for a conversation list, as one subquery."""
        from officialaccount.models import Follower

        return Subquery(Follower.objects.filter(openid=OuterRef("contact")).values("remark")[:1])

    def failed_send_exists(self) -> Exists:
        """A send to the contact failed since the conversation (re)opened."""
        from officialaccount.models import Message

        return Exists(Message.objects.filter(
            openid=OuterRef("contact"), direction=Message.Direction.OUTBOUND,
            status=Message.Status.FAILED, created_at__gte=OuterRef("opened_at"),
        ))

    def send(self, contact: str, message: StaffMessage, key: str) -> int:
        """Record the outbound message and queue its send after commit (the outbox): the
        existing customer-service path, which records WeChat's refusal (45015…) on the row."""
        from officialaccount.replies import Reply
        from officialaccount.services import customer_service_queue

        if message.kind == "text":
            reply = Reply(kind="text", text=message.text)
        elif message.kind == "image":
            reply = Reply(kind="image", media_id=message.media_id)
        else:
            reply = Reply(kind="miniprogram", card=_product_card(message))
        sent = customer_service_queue(openid=contact, reply=reply, dedupe_key=key)
        return sent.pk


def _product_card(message: StaffMessage):
    from catalog.models import Product
    from officialaccount.replies import MiniProgramCard

    product = Product.objects.filter(pk=message.product_id, is_on_shelf=True).first()
    if product is None:
        raise ReplyInvalid(gettext("The product is not on the shelf."))
    return MiniProgramCard(
        title=product.title[:64], appid=settings.WECHAT_MINIAPP_APPID,
        pagepath=f"pages/product/detail?id={product.pk}", thumb_media_id=message.media_id,
    )


CHANNELS = {Channel.WECHAT_MP: WeChatOfficialAccount()}


def channel_for(name: str) -> WeChatOfficialAccount:
    return CHANNELS[name]


