"""Daily reconciliation: WeChat Pay's trade bill for one Beijing day against our payments.

Three kinds of difference are listed for staff (ReconciliationDifference):
- paid at WeChat, not here: a SUCCESS row whose out_trade_no we have no paid attempt for
  (a lost notification, or a trade some other system made with our merchant id);
- amounts differ: both paid, different amounts;
- paid here, not at WeChat: an attempt paid on that day (paid_at, Beijing) that the bill
  does not list.
Reconciling a day again replaces its differences; a difference staff resolved stays
resolved when the same one is found again.
"""

import datetime
import logging
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from payments.gateway import BEIJING, BillRow, gateway
from payments.models import PaymentAttempt, ReconciliationDifference, ReconciliationRun
from wxbackend.wechat import WeChatError

logger = logging.getLogger(__name__)
Kind = ReconciliationDifference.Kind


def beijing_yesterday() -> datetime.date:
    return timezone.now().astimezone(BEIJING).date() - datetime.timedelta(days=1)


def _paid_on(day: datetime.date):
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=BEIJING)
    return PaymentAttempt.objects.filter(
        status=PaymentAttempt.Status.PAID, paid_at__gte=start, paid_at__lt=start + datetime.timedelta(days=1)
    )


def differences_find(*, day: datetime.date, rows: Iterable[BillRow]) -> tuple[list[ReconciliationDifference], int]:
    """Compare the bill's payments with our attempts; return (unsaved differences, matched)."""
    bill = {row.out_trade_no: row for row in rows if row.state == "SUCCESS"}
    ours = {a.out_trade_no: a for a in PaymentAttempt.objects.filter(out_trade_no__in=list(bill))}
    found, matched = [], 0
    for number, row in sorted(bill.items()):
        attempt = ours.get(number)
        if attempt is None or attempt.status != PaymentAttempt.Status.PAID:
            found.append(ReconciliationDifference(kind=Kind.MISSING_HERE, out_trade_no=number,
                                                  transaction_id=row.transaction_id, theirs_fen=row.total_fen))
        elif attempt.amount_fen != row.total_fen:
            found.append(ReconciliationDifference(kind=Kind.AMOUNT, out_trade_no=number,
                                                  transaction_id=row.transaction_id, ours_fen=attempt.amount_fen,
                                                  theirs_fen=row.total_fen))
        else:
            matched += 1
    for attempt in _paid_on(day).exclude(out_trade_no__in=list(bill)).order_by("out_trade_no"):
        found.append(ReconciliationDifference(kind=Kind.MISSING_AT_WECHAT, out_trade_no=attempt.out_trade_no,
                                              transaction_id=attempt.transaction_id, ours_fen=attempt.amount_fen))
    return found, matched


def reconcile_day(*, day: datetime.date) -> ReconciliationRun:
    """Download the day's bill and replace the day's differences with what it shows.

    The download happens outside any transaction; the replacement locks the day's run row,
    so two runs of one day apply one after the other. A failed download marks the run
    failed (keeping the last result) and raises the gateway's error."""
    run, _ = ReconciliationRun.objects.update_or_create(day=day, defaults={
        "status": ReconciliationRun.Status.RUNNING, "started_at": timezone.now(), "finished_at": None, "error": "",
    })
    pay = gateway()
    try:
        rows = pay.trade_bill(day)
    except WeChatError as exc:
        ReconciliationRun.objects.filter(pk=run.pk).update(
            status=ReconciliationRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:500])
        logger.warning("reconciliation failed", extra={"event": {"day": day.isoformat(), "error": str(exc)}})
        raise
    found, matched = differences_find(day=day, rows=rows)
    with transaction.atomic():
        run = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
        kept = {(d.kind, d.out_trade_no, d.ours_fen, d.theirs_fen): d for d in run.differences.filter(is_resolved=True)}
        run.differences.all().delete()
        for difference in found:
            difference.run = run
            previous = kept.get((difference.kind, difference.out_trade_no, difference.ours_fen, difference.theirs_fen))
            if previous is not None:
                difference.is_resolved, difference.resolution_note = True, previous.resolution_note
                difference.resolved_by, difference.resolved_at = previous.resolved_by, previous.resolved_at
        ReconciliationDifference.objects.bulk_create(found)
        run.api_version, run.status, run.finished_at = pay.version, ReconciliationRun.Status.DONE, timezone.now()
        run.bill_rows, run.matched, run.difference_count = len(rows), matched, len(found)
        run.save()
    return run


def differences_resolve(*, ids: Sequence[int], actor: str, note: str = "") -> int:
    """Mark open differences resolved by `actor`; returns how many changed."""
    fields = {"is_resolved": True, "resolved_by": actor[:64], "resolved_at": timezone.now()}
    if note:
        fields["resolution_note"] = note[:200]
    return ReconciliationDifference.objects.filter(pk__in=list(ids), is_resolved=False).update(**fields)
