"""`manage.py reconcile --date 2026-11-25`: compare that day's WeChat Pay bill with our
payments and list the differences (default: yesterday, Beijing time)."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from catalog.money import yuan
from payments.reconciliation import beijing_yesterday, reconcile_day
from wxbackend.wechat import WeChatError


class Command(BaseCommand):
    help = "Reconcile one day's WeChat Pay trade bill with our payments; rerunning replaces the day's result."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD, a Beijing day (default: yesterday)")

    def handle(self, *args, **options):
        try:
            day = datetime.date.fromisoformat(options["date"]) if options["date"] else beijing_yesterday()
        except ValueError:
            raise CommandError("--date must be YYYY-MM-DD")
        try:
            run = reconcile_day(day=day)
        except WeChatError as exc:
            raise CommandError(f"{day}: the bill could not be downloaded: {exc}")
        self.stdout.write(f"{day}: {run.bill_rows} bill rows, {run.matched} matched, "
                          f"{run.difference_count} differences")
        for difference in run.differences.all():
            self.stdout.write(f"  {difference.kind} {difference.out_trade_no} "
                              f"ours {yuan(difference.ours_fen)} WeChat {yuan(difference.theirs_fen)}")
