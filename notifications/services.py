"""Order notices: written with the order's status change, sent once by a worker.

- `notice_queue_for_order` runs inside `orders.services.order_transition` (the order's row
  is locked): it picks the channel, fixes the message and writes the Notice and its outbox
  row, so the notice exists exactly when the change commits.
- `notice_send` claims the row (queued → sending, one conditional UPDATE, so two runs of
  one row cannot both send), posts it through the client layer (which refreshes the access
  token on 40001/42001) and records the answer: sent; transient (-1, 45009, timeouts, 5xx)
  → queued again with exponential backoff and jitter, at most NOTICE_MAX_ATTEMPTS tries;
  permanent (43101, 43004, 40003, 40037, …) → failed with the reason, not retried.
- A worker killed mid-send leaves the row in `sending`; `notices_requeue_stuck` (beat)
  queues it again. Template messages carry `client_msg_id`, so WeChat drops a repeat of one
  that did arrive (spec 5.1); subscribe messages have no such key, so a crash between
  WeChat's answer and our UPDATE (milliseconds) could repeat one.
"""

import datetime
import logging
import random

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import Channel, Event, Notice, NoticeAttempt, NotificationTemplate
from notifications.values import keyword_data
from wxbackend.outbox import outbox_put
from wxbackend.wechat import GatewayRejected, GatewayUnavailable, call

logger = logging.getLogger(__name__)
Status = Notice.Status
SEND_TASK = "notifications.tasks.notice_send_task"
PATHS = {Channel.SUBSCRIBE: "cgi-bin/message/subscribe/send", Channel.TEMPLATE: "cgi-bin/message/template/send"}
APPS = {Channel.SUBSCRIBE: "miniapp", Channel.TEMPLATE: "mp"}


# --- Writing a notice with the order's change ------------------------------------------------


def notice_queue_for_order(*, order, event: str) -> Notice | None:
    """Write the notice of `event` for the order and queue its send after commit; None for a
    status that is no event, or an event already noticed. Call it in the transaction that
    changes the order (its row locked). Uses up one subscribe grant when it picks that
    channel; a notice that cannot go anywhere is stored as skipped, with the reason."""
    if event not in Event.values or Notice.objects.filter(order=order, event=event).exists():
        return None
    templates = {t.channel: t for t in NotificationTemplate.objects.filter(event=event, is_enabled=True)}
    customer = order.customer
    notice = Notice(order=order, customer=customer, event=event)
    channel, touser, reason = _channel_for(customer=customer, templates=templates)
    if channel:
        template = templates[channel]
        notice.channel, notice.touser, notice.template_id = channel, touser, template.template_id
        notice.payload = _payload(template=template, order=order, event=event)
        if channel == Channel.TEMPLATE:
            notice.client_msg_id = notice.payload["client_msg_id"]
    else:
        notice.status, notice.skip_reason = Status.SKIPPED, reason
    notice.save()
    if channel:
        outbox_put(task=SEND_TASK, args=[notice.pk], key=f"notice:{notice.pk}:try:1")
    return notice


def _channel_for(*, customer, templates: dict) -> tuple[str, str, str]:
    """(channel, openid, "") or ("", "", why not). A subscribe grant is used up here, in the
    transaction that writes the notice, so one grant pays for one notice."""
    from miniprogram_api.services import subscription_grant_consume

    subscribe = templates.get(Channel.SUBSCRIBE)
    if subscribe and customer.openid and subscription_grant_consume(
        customer_id=customer.pk, template_id=subscribe.template_id
    ):
        return Channel.SUBSCRIBE, customer.openid, ""
    template = templates.get(Channel.TEMPLATE)
    if template and customer.unionid:
        follower = (
            apps.get_model("officialaccount", "Follower").objects
            .filter(unionid=customer.unionid, is_subscribed=True).order_by("pk").first()
        )
        if follower is not None:
            return Channel.TEMPLATE, follower.openid, ""
    if not templates:
        return "", "", "no enabled template for this event"
    reasons = []
    if subscribe:
        reasons.append("no subscribe grant left" if customer.openid else "customer has no openid")
    if template:
        reasons.append("not following the official account" if customer.unionid else "no unionid")
    return "", "", "; ".join(reasons)


def _payload(*, template: NotificationTemplate, order, event: str) -> dict:
    """The request body without `touser` (spec 5.1, 5.2), fixed when the notice is written."""
    page = template.page.replace("{order_no}", order.order_no)
    is_template = template.channel == Channel.TEMPLATE
    data = keyword_data(keywords=template.keywords, order=order, event=event, template_message=is_template)
    if not is_template:
        payload = {"template_id": template.template_id, "data": data, "lang": "zh_CN",
                   # wechatpy's sender cannot set this (spec 8, wechatpy 5): we post ourselves.
                   "miniprogram_state": template.miniprogram_state}
        if page:
            payload["page"] = page
        return payload
    payload = {"template_id": template.template_id, "data": data,
               "client_msg_id": f"order-{order.order_no}-{event}"}
    if page:  # with both, WeChat opens the mini-program (spec 5.1)
        payload["miniprogram"] = {"appid": settings.WECHAT_MINIAPP_APPID, "pagepath": page}
    elif template.url:
        payload["url"] = template.url
    return payload


# --- Sending ---------------------------------------------------------------------------------


def notice_send(*, notice_id: int) -> str:
    """Send the notice once; returns its status afterwards, or "skipped" when this run has
    nothing to do (sent, failed, not yet due, or being sent by another run)."""
    now = timezone.now()
    claimed = Notice.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), pk=notice_id, status=Status.QUEUED,
    ).update(status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return "skipped"
    notice = Notice.objects.get(pk=notice_id)
    try:
        answer = call(APPS[notice.channel], "POST", PATHS[notice.channel],
                      json={"touser": notice.touser, **notice.payload})
    except GatewayUnavailable as exc:
        return _record_transient(notice, exc)
    except GatewayRejected as exc:
        return _record(notice, Status.FAILED, "failed", errcode=exc.errcode, error=str(exc))
    msgid = answer.get("msgid")
    return _record(notice, Status.SENT, "sent", msgid=msgid if isinstance(msgid, int) else None)


def retry_delay_seconds(attempts: int) -> float:
    """Before try `attempts + 1`: NOTICE_RETRY_BASE_SECONDS doubled per try, ±25 % jitter (so
    retries of many notices spread out), so 5 tries span about 30 minutes at the default
    base (2, 4, 8, 16 min)."""
    base = settings.NOTICE_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)
    return base * 0.75 + random.uniform(0, base / 2)


def _record_transient(notice: Notice, exc: GatewayUnavailable) -> str:
    if notice.attempts >= settings.NOTICE_MAX_ATTEMPTS:
        return _record(notice, Status.FAILED, "failed", errcode=exc.errcode,
                       error=f"gave up after {notice.attempts} tries: {exc}")
    due = timezone.now() + datetime.timedelta(seconds=retry_delay_seconds(notice.attempts))
    with transaction.atomic():
        _record(notice, Status.QUEUED, "retry", errcode=exc.errcode, error=str(exc), next_attempt_at=due)
        outbox_put(task=SEND_TASK, args=[notice.pk], key=f"notice:{notice.pk}:try:{notice.attempts + 1}",
                   available_at=due)
    return Status.QUEUED


def _record(notice: Notice, status: str, outcome: str, *, errcode: int | None = None, error: str = "",
            msgid: int | None = None, next_attempt_at=None) -> str:
    """Leave `sending` for `status` (only from `sending`: a requeued row is not overwritten)
    and log the attempt."""
    fields = {"status": status, "last_errcode": errcode, "last_error": error[:300],
              "next_attempt_at": next_attempt_at}
    if status == Status.SENT:
        fields.update(sent_at=timezone.now(), msgid=msgid)
    Notice.objects.filter(pk=notice.pk, status=Status.SENDING).update(**fields)
    NoticeAttempt.objects.create(notice_id=notice.pk, errcode=errcode, error=error[:300], outcome=outcome)
    if status == Status.FAILED:
        logger.warning("notice failed", extra={"event": {"notice": notice.pk, "errcode": errcode}})
    return status


# --- Beat and staff --------------------------------------------------------------------------


def notices_requeue_stuck() -> int:
    """Queue again the notices a worker left behind; returns how many.

    `sending` for longer than NOTICE_SENDING_TIMEOUT_SECONDS: the worker died mid-send (a
    send takes seconds at most). `queued` and overdue by as long: its outbox row failed or
    was lost. Each gets a fresh outbox row keyed by its try, so repeated sweeps add one."""
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.NOTICE_SENDING_TIMEOUT_SECONDS)
    requeued = 0
    stuck = Notice.objects.filter(
        Q(status=Status.SENDING, last_attempt_at__lt=stale)
        | (Q(status=Status.QUEUED, created_at__lt=stale)
           & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=stale)))
    ).order_by("pk").values_list("pk", "status", "attempts")[:1000]
    for notice_id, status, attempts in stuck:
        with transaction.atomic():
            if status == Status.SENDING and attempts >= settings.NOTICE_MAX_ATTEMPTS:
                Notice.objects.filter(pk=notice_id, status=Status.SENDING).update(
                    status=Status.FAILED, last_error=f"worker lost during try {attempts}; gave up")
                continue
            if status == Status.SENDING:
                moved = Notice.objects.filter(pk=notice_id, status=Status.SENDING, last_attempt_at__lt=stale).update(
                    status=Status.QUEUED, next_attempt_at=now, last_error="worker lost during the send; queued again")
                if not moved:
                    continue
            outbox_put(task=SEND_TASK, args=[notice_id], key=f"notice:{notice_id}:requeue:{attempts}:{status}")
            requeued += 1
    return requeued


def notice_resend(*, notice_id: int) -> bool:
    """Staff's resend of a failed notice: queued again with a fresh set of tries. False for a
    notice that is not failed (sent ones are not sent twice)."""
    now = timezone.now()
    with transaction.atomic():
        moved = Notice.objects.filter(pk=notice_id, status=Status.FAILED).exclude(channel="").update(
            status=Status.QUEUED, attempts=0, next_attempt_at=now, last_error="")
        if moved:
            outbox_put(task=SEND_TASK, args=[notice_id], key=f"notice:{notice_id}:resend:{now.timestamp()}")
    return bool(moved)
