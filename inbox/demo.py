"""Demo data for the inbox: a few canned replies staff insert into answers (idempotent)."""

from inbox.models import CannedReply

CANNED = [
    ("发货时间", "您好，现货订单会在付款后 48 小时内发货，发货后可在小程序“我的订单”中查看物流。"),
    ("退换货", "您好，收到商品 7 天内可申请无理由退换，请在小程序订单详情中点击“申请退款”。"),
    ("发票", "您好，请把开票抬头和税号发给我们，我们会在发货后 3 个工作日内开具电子发票。"),
]


def load(*, stdout) -> None:
    for position, (title, text) in enumerate(CANNED):
        CannedReply.objects.update_or_create(title=title, defaults={"text": text, "sort_order": position})
    stdout.write(f"inbox: {len(CANNED)} canned replies")
