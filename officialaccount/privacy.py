"""The official account's sections of a customer's personal data: the follower linked by
unionid and its conversation. Erasure replaces the follower's openid with a pseudonym
(everywhere it is stored) and empties what was said, keeping each message's type, direction
and time for the response metrics."""

import hashlib

from django.conf import settings
from django.db.models import Value
from django.db.models.functions import Replace

from officialaccount.models import Follower, Message
from officialaccount.services import message_bodies_purge
from wxbackend.privacy import DataSubject, section_register

ERASED_PREFIX = "erased_"


def pseudonym(openid: str) -> str:
    """A stable stand-in for an erased openid (keyed: it cannot be reversed by hashing
    every openid one knows)."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{openid}".encode()).hexdigest()
    return f"{ERASED_PREFIX}{digest[:32]}"


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _official_account(subject: DataSubject) -> dict | None:
    follower = Follower.objects.filter(openid__in=subject.follower_openids).order_by("-id").first()
    if follower is None:
        return None
    return {
        "openid": follower.openid, "is_subscribed": follower.is_subscribed,
        "subscribed_at": _iso(follower.subscribed_at), "unsubscribed_at": _iso(follower.unsubscribed_at),
        "subscribe_scene": follower.subscribe_scene, "remark": follower.remark, "language": follower.language,
        "tags": [t.name for t in follower.tags.all()],
    }


def _conversations(subject: DataSubject) -> list[dict]:
    messages = Message.objects.filter(openid__in=subject.follower_openids).order_by("created_at", "id")
    return [
        {"at": m.created_at.isoformat(), "direction": m.direction, "msg_type": m.msg_type, "event": m.event,
         "content": m.content, "reply": m.reply_text, "has_media": bool(m.media_file or m.media_url)}
        for m in messages.iterator(chunk_size=500)
    ]


def _erase(subject: DataSubject) -> None:
    for openid in subject.follower_openids:
        if openid.startswith(ERASED_PREFIX):
            continue
        messages = Message.objects.filter(openid=openid)
        message_bodies_purge(queryset=messages)
        alias = pseudonym(openid)
        messages.update(openid=alias, dedupe_key=Replace("dedupe_key", Value(openid), Value(alias)))
        follower = Follower.objects.filter(openid=openid).first()
        if follower is None:
            continue
        follower.tags.clear()
        Follower.objects.filter(pk=follower.pk).update(
            openid=alias, unionid="", remark="", language="", is_subscribed=False,
        )


section_register("official_account", export=_official_account, erase=_erase, order=20)
section_register("conversations", export=_conversations, order=90)
