"""Reads for the back office: followers, a follower's conversation, QR scene counts. Each
is a fixed number of queries whatever the number of rows."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from officialaccount.models import Follower, Message, QrScene

CONVERSATION_LIMIT = 500


def follower_list() -> QuerySet[Follower]:
    return Follower.objects.prefetch_related("tags")


def conversation_for_follower(*, follower: Follower, limit: int = CONVERSATION_LIMIT) -> list[Message]:
    """The follower's last `limit` messages (inbound with our passive reply, and outbound),
    oldest first, in one query."""
    latest = Message.objects.filter(openid=follower.openid).order_by("-created_at", "-id")[:limit]
    return list(reversed(list(latest)))


def _count_of(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("qr_scene").annotate(n=Count("id")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def qr_scene_list() -> QuerySet[QrScene]:
    """Scenes with their scans (SCAN events), QR follows (subscribe events with the scene)
    and followers attributed to them."""
    inbound = Message.objects.filter(direction=Message.Direction.INBOUND, qr_scene=OuterRef("scene"))
    followers = Follower.objects.filter(qr_scene=OuterRef("scene"))
    counted_followers = followers.order_by().values("qr_scene").annotate(n=Count("id")).values("n")[:1]
    return QrScene.objects.annotate(
        scan_count=_count_of(inbound.filter(event="scan")),
        subscribe_count=_count_of(inbound.filter(event="subscribe")),
        follower_count=Coalesce(Subquery(counted_followers, output_field=IntegerField()), 0),
    )
