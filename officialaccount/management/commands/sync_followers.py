"""Import the account's existing followers: user/get paging plus batch profiles."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from officialaccount.services import followers_sync
from wxbackend.wechat import WeChatError


class Command(BaseCommand):
    help = "从微信导入已有粉丝（user/get 分页 + 批量获取用户信息）。"

    def handle(self, *args, **options):
        bar = tqdm(total=0, unit="粉丝", file=self.stderr, disable=options.get("verbosity", 1) == 0)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            imported = followers_sync(on_progress=progress)
        except WeChatError as exc:
            raise CommandError(f"WeChat refused the sync: {exc}")
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"Imported {imported} followers."))
