"""The customer's order notices in the personal-data export; erasure keeps each notice's
event, status and times but drops the recipient and the message (which may quote the
delivery address), and skips notices not yet sent."""

from notifications.models import Notice
from wxbackend.privacy import DataSubject, section_register


def _notices(subject: DataSubject) -> list[dict]:
    notices = Notice.objects.filter(customer_id=subject.customer_id).select_related("order").order_by("created_at", "id")
    return [
        {"order_no": n.order.order_no, "event": n.event, "channel": n.channel, "status": n.status,
         "message": n.payload, "created_at": n.created_at.isoformat(),
         "sent_at": n.sent_at.isoformat() if n.sent_at else None}
        for n in notices
    ]


def _erase(subject: DataSubject) -> None:
    notices = Notice.objects.filter(customer_id=subject.customer_id)
    notices.filter(status=Notice.Status.QUEUED).update(status=Notice.Status.SKIPPED, skip_reason="customer erased")
    notices.update(touser="", payload={})


section_register("notices", export=_notices, erase=_erase, order=85)
