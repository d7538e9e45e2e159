"""Writes of the official account: followers, customer-service sends, menus, QR codes.

The callback's own hot path is in `callback.py`; these run inside its event transaction, in
Celery tasks, admin actions and the `sync_followers` command."""

import datetime
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from officialaccount import gateway
from officialaccount.exceptions import MenuInvalid
from officialaccount.models import Follower, Menu, MenuButton, Message, QrScene, Tag
from officialaccount.replies import Reply, customer_service_payload
from wxbackend.outbox import outbox_put
from wxbackend.wechat import GatewayRejected

logger = logging.getLogger(__name__)
MAX_PHOTO_READ = 10 * 1024 * 1024  # a larger file is no picture the matcher reads


MAX_TOP_BUTTONS = 3
MAX_SUB_BUTTONS = 5


# --- followers ------------------------------------------------------------------------------


def follower_event_apply(*, openid: str, event: str, qr_scene: str, at: datetime.datetime) -> Follower:
    """Apply a subscribe/unsubscribe/other event to the follower (created if unknown).

    Runs inside the callback's transaction, only for the first delivery of an event. Queues
    one profile fetch after commit for a follower whose profile was never fetched."""
    changes: dict = {"last_interaction_at": at}
    if event == "subscribe":
        changes.update(is_subscribed=True, subscribed_at=at, unsubscribed_at=None)
        if qr_scene:
            changes["qr_scene"] = qr_scene
    elif event == "unsubscribe":
        changes.update(is_subscribed=False, unsubscribed_at=at)
    else:
        changes["is_subscribed"] = True  # only followers send events
    follower, _ = Follower.objects.update_or_create(openid=openid, defaults=changes)
    if follower.profile_fetched_at is None and event != "unsubscribe":
        profile_fetch_put(openid=openid)
    return follower


def profile_fetch_put(*, openid: str) -> None:
    """Fetch the follower's profile after commit, once (the fetch returns if it is done)."""
    from officialaccount.tasks import follower_profile_fetch_task

    outbox_put(task=follower_profile_fetch_task, args=[openid], key=f"oa.profile:{openid}")


def follower_remark_set(*, follower_id: int, remark: str) -> Follower:
    """Set the follower's remark on WeChat (user/info/updateremark), then here. Raises
    WeChatError when WeChat refuses, leaving ours unchanged."""
    follower = Follower.objects.get(pk=follower_id)
    remark = remark.strip()[:30]
    if remark != follower.remark:
        gateway.user_update_remark(openid=follower.openid, remark=remark)
        Follower.objects.filter(pk=follower_id).update(remark=remark, updated_at=timezone.now())
        follower.remark = remark
    return follower


def _tags_for(tag_ids: Iterable[int]) -> list[Tag]:
    """The Tag rows of `tag_ids`; ids seen for the first time are created without a name and
    their names fetched after commit (tags/get)."""
    tag_ids = sorted(set(tag_ids))
    if not tag_ids:
        return []
    tags = list(Tag.objects.filter(tag_id__in=tag_ids))
    missing = set(tag_ids) - {t.tag_id for t in tags}
    if missing:
        Tag.objects.bulk_create([Tag(tag_id=t) for t in sorted(missing)], ignore_conflicts=True)
        tags = list(Tag.objects.filter(tag_id__in=tag_ids))
        from officialaccount.tasks import tags_sync_task

        outbox_put(task=tags_sync_task, key=f"oa.tags-sync:{timezone.now():%Y%m%d%H%M}")
    return tags


def tags_sync() -> int:
    """Store the account's tag names by id (tags/get): new tags are created, renamed ones
    updated, in one statement. Tags gone from WeChat are kept (followers may still show
    them). Returns the number of tags WeChat listed."""
    infos = gateway.tags_get()
    if infos:
        Tag.objects.bulk_create(
            [Tag(tag_id=t.tag_id, name=t.name) for t in infos],
            update_conflicts=True, unique_fields=["tag_id"], update_fields=["name"],
        )
    return len(infos)


def _apply_info(follower: Follower, info: gateway.UserInfo, at: datetime.datetime) -> None:
    follower.is_subscribed = info.is_subscribed
    if info.is_subscribed:
        if info.subscribed_at:
            follower.subscribed_at = datetime.datetime.fromtimestamp(info.subscribed_at, tz=datetime.UTC)
        follower.subscribe_scene = info.subscribe_scene
        if info.qr_scene:
            follower.qr_scene = info.qr_scene
        follower.remark = info.remark
        follower.language = info.language
    if info.unionid:
        follower.unionid = info.unionid
    follower.profile_fetched_at = at


def follower_profile_fetch(*, openid: str) -> Follower | None:
    """Fetch the follower's profile once (user/info). A repeat finds it fetched and returns."""
    follower = Follower.objects.filter(openid=openid).first()
    if follower is None or follower.profile_fetched_at is not None:
        return follower
    info = gateway.user_info(openid=openid)  # outside any transaction: no lock held over HTTP
    with transaction.atomic():
        follower = Follower.objects.select_for_update().get(pk=follower.pk)
        if follower.profile_fetched_at is not None:
            return follower
        _apply_info(follower, info, timezone.now())
        follower.save()
        if info.is_subscribed:
            follower.tags.set(_tags_for(info.tag_ids))
    return follower


def followers_upsert(*, infos: list[gateway.UserInfo]) -> int:
    """Create or update followers from user-info records; returns how many were written."""
    at = timezone.now()
    with transaction.atomic():
        existing = {f.openid: f for f in Follower.objects.select_for_update().filter(openid__in=[i.openid for i in infos])}
        tags = {t.tag_id: t for t in _tags_for(t for i in infos for t in i.tag_ids)}
        for info in infos:
            if not info.openid:
                continue
            follower = existing.get(info.openid) or Follower(openid=info.openid)
            _apply_info(follower, info, at)
            follower.save()
            follower.tags.set([tags[t] for t in info.tag_ids if t in tags])
    return len(infos)


def followers_sync(*, on_progress: Callable[[int, int], None] | None = None) -> int:
    """Import every follower: page through user/get, fetch profiles by batchget.

    Tag names come first (tags/get), so followers are shown and filtered by tag name.
    `on_progress(done, total)` is called after each batch. Returns the number imported."""
    tags_sync()
    done, next_openid, seen_cursors = 0, "", set()
    while True:
        page = gateway.user_openids(next_openid=next_openid)
        for start in range(0, len(page.openids), gateway.BATCHGET_MAX):
            batch = list(page.openids[start:start + gateway.BATCHGET_MAX])
            done += followers_upsert(infos=gateway.user_batch_info(openids=batch))
            if on_progress:
                on_progress(done, page.total)
        if not page.openids or not page.next_openid or page.next_openid in seen_cursors:
            return done
        seen_cursors.add(page.next_openid)
        next_openid = page.next_openid


SWEEP_WATERMARK_KEY = "officialaccount:sweep-watermark"
# A message id is handed out when its INSERT starts, not when it commits: a slow delivery
# can commit id 10 after id 11 was read. The sweep therefore re-reads every message younger
# than this (callback transactions last seconds), and its watermark only passes older ones.
SWEEP_SETTLE_SECONDS = 120


def _sweep_watermark(now: datetime.datetime) -> int:
    """The settled id: every message up to it is committed or never will be."""
    from django.core.cache import cache

    stored = cache.get(SWEEP_WATERMARK_KEY)
    if isinstance(stored, int):
        return stored
    # First run or cache lost: look back 48 hours (the customer-service window), from the
    # last message older than that (not from the first one younger, which may not be the
    # lowest id of the window: an older id can still be committing).
    since = now - datetime.timedelta(hours=48)
    last_before = Message.objects.filter(created_at__lt=since).order_by("-id").values_list("id", flat=True).first()
    return last_before or 0


def follower_interactions_sweep(*, now: datetime.datetime | None = None) -> int:
    """Record last interactions from inbound messages (a batched update that keeps the
    callback's hot path to one statement). Creates followers unknown so far (people who
    followed before we were connected) and queues their profile fetch.

    Reads every message above the settled watermark, so one that committed out of id order
    is caught on the next pass; reading a message twice is harmless, as a last interaction
    only moves forward. Locks the followers it updates in pk order. Returns the number of
    followers whose last interaction moved."""
    from django.core.cache import cache

    now = now or timezone.now()
    settled = _sweep_watermark(now)
    cutoff = now - datetime.timedelta(seconds=SWEEP_SETTLE_SECONDS)
    rows = list(
        Message.objects.filter(id__gt=settled, direction=Message.Direction.INBOUND)
        .values("openid")
        .annotate(last_at=Max("created_at"), settled_id=Max("id", filter=Q(created_at__lt=cutoff)))
    )
    moved = 0
    if rows:
        openids = [r["openid"] for r in rows]
        latest = {r["openid"]: r["last_at"] for r in rows}
        with transaction.atomic():
            Follower.objects.bulk_create(
                [Follower(openid=o, is_subscribed=True) for o in sorted(openids)], ignore_conflicts=True
            )
            followers = list(Follower.objects.select_for_update().filter(openid__in=openids).order_by("pk"))
            changed = []
            for follower in followers:
                at = latest[follower.openid]
                if follower.last_interaction_at is None or follower.last_interaction_at < at:
                    follower.last_interaction_at = at
                    changed.append(follower)
            Follower.objects.bulk_update(changed, ["last_interaction_at"])
            moved = len(changed)
            for follower in followers:
                if follower.profile_fetched_at is None:
                    profile_fetch_put(openid=follower.openid)
        settled = max([settled, *(r["settled_id"] for r in rows if r["settled_id"] is not None)])
    cache.set(SWEEP_WATERMARK_KEY, settled, timeout=None)
    return moved


# --- inbound media ------------------------------------------------------------------------------

MEDIA_DIR = "officialaccount/media"
_EXTENSIONS = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "image/png": ".png", "image/gif": ".gif",
               "audio/amr": ".amr", "voice/speex": ".speex", "audio/speex": ".speex", "video/mp4": ".mp4"}


def _media_name(message: Message, content_type: str) -> str:
    extension = _EXTENSIONS.get(content_type.split(";")[0].strip().lower())
    if extension is None:
        extension = "." + message.fields.get("Format", "bin").lower() if message.msg_type == "voice" else ".bin"
    extension = extension if extension[1:].isalnum() and len(extension) <= 8 else ".bin"
    day = (message.wechat_created_at or message.created_at).strftime("%Y/%m/%d")
    # The default storage may be served publicly (product images are): a name nobody can
    # guess from a message id keeps followers' photos private, and stays the same for a
    # rerun of the same message (so a file left by a crashed run is found).
    secret = salted_hmac("officialaccount.media", f"{message.pk}:{message.fields.get('MediaId', '')}").hexdigest()
    return f"{MEDIA_DIR}/{message.msg_type}/{day}/{message.pk}-{secret[:24]}{extension}"


def message_media_fetch(*, message_id: int) -> Message:
    """Download an inbound message's media (`media/get`) into the default storage and record
    the file on the message. A message with its file (or a recorded refusal) returns at
    once, so a redelivered task does nothing; a file left by a run that died before
    recording it is reused. GatewayRejected (40007: invalid or expired media_id) is recorded
    in `error`; GatewayUnavailable propagates so that the task retries."""
    message = Message.objects.get(pk=message_id, direction=Message.Direction.INBOUND)
    media_id = message.fields.get("MediaId", "")
    if message.media_file or message.media_url or message.error or not media_id:
        return message
    try:
        media = gateway.media_get(media_id=media_id)  # outside any transaction
    except GatewayRejected as exc:
        message.error = f"{exc.errcode}: {exc.errmsg}"[:255]
        Message.objects.filter(pk=message_id, media_file="", error="").update(error=message.error)
        logger.warning("media download refused", extra={"event": {"message": message_id, "errcode": exc.errcode}})
        return message
    pending = Message.objects.filter(pk=message_id, media_file="", media_url="", error="")
    if media.video_url:
        pending.update(media_url=media.video_url[:1024])
        message.media_url = media.video_url[:1024]
        return message
    name = _media_name(message, media.content_type)
    saved = name if default_storage.exists(name) else default_storage.save(name, ContentFile(media.content))
    if not pending.update(media_file=saved, media_content_type=media.content_type[:100]):
        message.refresh_from_db()  # a concurrent run recorded its copy first: drop ours
        if message.media_file.name != saved:
            default_storage.delete(saved)
        return message
    message.media_file.name, message.media_content_type = saved, media.content_type[:100]
    return message


def photo_question_answer(*, message_id: int) -> Message | None:
    """Answer a customer's picture that the callback could not fetch in time: download it
    (message_media_fetch), match it against the products' pictures and, on a match, queue the
    products as a customer-service news message (once: keyed by the message). No match leaves
    the message unanswered, like a text no rule answers. Returns the queued message or None.
    GatewayUnavailable propagates (the task retries)."""
    from catalog.selectors import product_photo_matches
    from officialaccount.callback import PRODUCT_MATCHES, product_matches_reply

    message = message_media_fetch(message_id=message_id)
    if not message.media_file or not message.has_image_file:
        return None
    try:
        with default_storage.open(message.media_file.name, "rb") as handle:
            data = handle.read(MAX_PHOTO_READ + 1)
    except OSError:
        return None
    reply = product_matches_reply(product_photo_matches(data=data, limit=PRODUCT_MATCHES))
    if reply is None:
        return None
    with transaction.atomic():
        return customer_service_queue(openid=message.openid, reply=reply, dedupe_key=f"photo:{message_id}",
                                      in_reply_to_id=message_id)


# --- customer-service messages ----------------------------------------------------------------


def customer_service_queue(*, openid: str, reply: Reply, dedupe_key: str, in_reply_to_id: int | None = None) -> Message | None:
    """Record an outbound customer-service message and send it after commit (once per key)."""
    payload = customer_service_payload(reply, openid=openid)
    if payload is None:
        return None
    message, created = Message.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "direction": Message.Direction.OUTBOUND, "openid": openid, "msg_type": payload["msgtype"],
            "content": reply.summary(), "fields": payload, "status": Message.Status.PENDING,
            "in_reply_to_id": in_reply_to_id,
        },
    )
    if created:
        from officialaccount.tasks import customer_service_send_task

        outbox_put(task=customer_service_send_task, args=[message.pk], key=f"oa.cs:{message.pk}")
    return message


def customer_service_send(*, message_id: int) -> None:
    """Send a pending outbound message. Sent ones return at once (a redelivered task);
    a permanent refusal (e.g. 45015 outside the 48-hour window) is recorded, not retried;
    a transient failure (GatewayUnavailable) propagates so that the task retries."""
    message = Message.objects.get(pk=message_id, direction=Message.Direction.OUTBOUND)
    if message.status != Message.Status.PENDING:
        return
    try:
        gateway.custom_send(payload=message.fields)
    except GatewayRejected as exc:
        Message.objects.filter(pk=message_id, status=Message.Status.PENDING).update(
            status=Message.Status.FAILED, error=f"{exc.errcode}: {exc.errmsg}"[:255]
        )
        logger.warning("customer-service message refused", extra={"event": {"message": message_id, "errcode": exc.errcode}})
        return
    Message.objects.filter(pk=message_id, status=Message.Status.PENDING).update(
        status=Message.Status.SENT, sent_at=timezone.now()
    )


# --- menus and QR codes -----------------------------------------------------------------------


def _button_json(button: MenuButton, children: list[MenuButton]) -> dict:
    if button.kind == MenuButton.Kind.SUB:
        if not children:
            raise MenuInvalid(f"“{button.name}”是子菜单，但没有按钮。")
        if len(children) > MAX_SUB_BUTTONS:
            raise MenuInvalid(f"“{button.name}”最多 {MAX_SUB_BUTTONS} 个子按钮。")
        return {"name": button.name, "sub_button": [_button_json(c, []) for c in children]}
    if button.kind == MenuButton.Kind.CLICK:
        return {"type": "click", "name": button.name, "key": button.key}
    if button.kind == MenuButton.Kind.VIEW:
        return {"type": "view", "name": button.name, "url": button.url}
    return {
        "type": "miniprogram", "name": button.name, "url": button.url,
        "appid": button.appid or settings.WECHAT_MINIAPP_APPID, "pagepath": button.pagepath,
    }


def menu_payload(*, menu_id: int) -> list[dict]:
    """The `menu/create` buttons of a menu; raises MenuInvalid when WeChat would refuse it."""
    buttons = list(MenuButton.objects.filter(menu_id=menu_id).order_by("position", "id"))
    top = [b for b in buttons if b.parent_id is None]
    if not top:
        raise MenuInvalid("菜单没有按钮。")
    if len(top) > MAX_TOP_BUTTONS:
        raise MenuInvalid(f"一级菜单最多 {MAX_TOP_BUTTONS} 个。")
    children: dict[int, list[MenuButton]] = {}
    for b in buttons:
        if b.parent_id is not None:
            children.setdefault(b.parent_id, []).append(b)
    return [_button_json(b, children.get(b.pk, [])) for b in top]


def menu_push(*, menu_id: int) -> Menu:
    """Publish the menu with `menu/create`; records when, or WeChat's refusal."""
    payload = menu_payload(menu_id=menu_id)
    menu = Menu.objects.get(pk=menu_id)
    try:
        gateway.menu_create(buttons=payload)
    except GatewayRejected as exc:
        menu.push_error = f"{exc.errcode}: {exc.errmsg}"[:255]
        menu.save(update_fields=["push_error"])
        raise
    menu.pushed_at, menu.push_error = timezone.now(), ""
    menu.save(update_fields=["pushed_at", "push_error"])
    return menu


def qr_scene_create_code(*, scene_id: int) -> QrScene:
    """Create the scene's parametric QR code (`qrcode/create`) unless it already has one."""
    scene = QrScene.objects.get(pk=scene_id)
    if scene.ticket and (scene.expires_at is None or scene.expires_at > timezone.now()):
        return scene
    code = gateway.qrcode_create(
        scene=scene.scene, expire_seconds=None if scene.is_permanent else scene.expire_seconds
    )
    scene.ticket, scene.url = code.ticket, code.url
    scene.expires_at = (
        timezone.now() + datetime.timedelta(seconds=code.expire_seconds) if code.expire_seconds else None
    )
    scene.save(update_fields=["ticket", "url", "expires_at"])
    return scene


# --- retention ----------------------------------------------------------------------------------

PURGE_BATCH = 500


def message_bodies_purge(*, queryset) -> int:
    """Empty what was said in the messages of `queryset` (text, raw fields, the passive reply's
    XML and summary, downloaded media, which is deleted from storage) and keep the row: its type,
    direction and times still count in the metrics. Returns how many rows changed. Idempotent."""
    rows = queryset.exclude(content="", fields={}, reply_xml="", reply_text="", media_file="", media_url="")
    changed = 0
    while True:
        batch = list(rows.order_by("pk").values_list("pk", "media_file")[:PURGE_BATCH])
        if not batch:
            return changed
        for _pk, name in batch:
            if name:
                try:
                    default_storage.delete(name)
                except OSError:
                    logger.warning("media file not deleted", extra={"event": {"file": name}})
        changed += Message.objects.filter(pk__in=[pk for pk, _ in batch]).update(
            content="", fields={}, reply_xml="", reply_text="", media_file="", media_url="",
        )


def message_retention_purge(*, now: datetime.datetime | None = None) -> int:
    """Purge the bodies and media of messages older than MESSAGE_RETENTION_DAYS (the beat
    entry `officialaccount-message-retention` runs it daily)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.MESSAGE_RETENTION_DAYS)
    purged = message_bodies_purge(queryset=Message.objects.filter(created_at__lt=cutoff))
    logger.info("message retention purge", extra={"event": {"purged": purged, "days": settings.MESSAGE_RETENTION_DAYS}})
    return purged
