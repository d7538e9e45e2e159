"""`manage.py replay_notification 42` (a recorded notification's id), `--failed` (every one
recorded as failed), or `--trade <out_trade_no>` / `--refund <out_refund_no>`: apply what a
notification would have applied, after it was lost or recorded as failed.

It asks WeChat Pay for the trade's or refund's state now and applies that, exactly as the
notification path does (idempotent: a payment or refund already applied stays as it is). The
recorded body itself is not processed again: its signature's timestamp is minutes or days
old, which the notify path rightly refuses (a replayed request), and WeChat's answer today
is the authority anyway."""

from django.core.management.base import BaseCommand, CommandError

from payments.gateway import gateway
from payments.models import PaymentNotification, Refund
from payments.refunds import refund_state_apply
from payments.services import payment_trade_refresh
from wxbackend.wechat.pay import PayRejected, PayUnavailable


class Command(BaseCommand):
    help = "Apply a lost or failed WeChat Pay notification again, from WeChat Pay's current state."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="recorded notification ids")
        parser.add_argument("--trade", action="append", default=[], help="a merchant trade number (out_trade_no)")
        parser.add_argument("--refund", action="append", default=[], help="a merchant refund number (out_refund_no)")
        parser.add_argument("--failed", action="store_true",
                            help="every notification recorded as failed (our side could not apply it)")

    def handle(self, *args, ids: list[int], trade: list[str], refund: list[str], failed: bool, **options):
        trades, refunds = list(trade), list(refund)
        if failed:
            ids = [*ids, *PaymentNotification.objects.filter(
                verdict=PaymentNotification.Verdict.FAILED).values_list("pk", flat=True)]
        for record in PaymentNotification.objects.filter(pk__in=ids).order_by("pk"):
            if record.out_trade_no in trades or record.out_refund_no in refunds:
                continue  # WeChat sent it more than once
            if record.kind == PaymentNotification.Kind.REFUND and record.out_refund_no:
                refunds.append(record.out_refund_no)
            elif record.kind == PaymentNotification.Kind.PAYMENT and record.out_trade_no:
                trades.append(record.out_trade_no)
            else:
                self.stderr.write(f"notification {record.pk}: names no trade ({record.get_verdict_display()}): skipped")
        missing = set(ids) - set(PaymentNotification.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing:
            raise CommandError(f"no such notification: {', '.join(map(str, sorted(missing)))}")
        if not (trades or refunds):
            raise CommandError("nothing to replay: give notification ids, --trade or --refund")
        failed = False
        for out_trade_no in dict.fromkeys(trades):
            try:
                state = payment_trade_refresh(out_trade_no=out_trade_no)
            except (PayUnavailable, PayRejected) as exc:
                self.stderr.write(f"trade {out_trade_no}: WeChat Pay did not answer: {exc}")
                failed = True
                continue
            self.stdout.write(f"trade {out_trade_no}: WeChat Pay says {state}; applied")
        for out_refund_no in dict.fromkeys(refunds):
            failed |= not self._refund(out_refund_no)
        if failed:
            raise CommandError("some could not be replayed: run it again later")

    def _refund(self, out_refund_no: str) -> bool:
        refund = Refund.objects.filter(out_refund_no=out_refund_no).first()
        if refund is None:
            self.stderr.write(f"refund {out_refund_no}: not ours")
            return False
        try:
            state = gateway().refund_query(out_refund_no)
        except (PayUnavailable, PayRejected) as exc:
            self.stderr.write(f"refund {out_refund_no}: WeChat Pay did not answer: {exc}")
            return False
        if state.out_refund_no != out_refund_no or (state.refund_fen and state.refund_fen != refund.amount_fen):
            self.stderr.write(f"refund {out_refund_no}: WeChat Pay answered for another refund: not applied")
            return False
        refund = refund_state_apply(state=state)
        self.stdout.write(f"refund {out_refund_no}: WeChat Pay says {state.status}; now {refund.status}")
        return True
