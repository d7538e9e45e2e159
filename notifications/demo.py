"""Demo data: the four order events' templates on both channels (idempotent). The template
ids are placeholders; the merchant pastes the ids from 公众平台 → 订阅消息 / 模板消息."""

from notifications.models import Channel, Event, NotificationTemplate

PAGE = "pages/order/detail?no={order_no}"
# Keyword names as WeChat's public templates number them (订单号, 商品, 金额, 时间, 状态).
SUBSCRIBE = {
    Event.PAID: {"character_string1": "order_no", "thing2": "goods", "amount3": "total", "time4": "event_time",
                 "phrase5": "status"},
    Event.SHIPPED: {"character_string1": "order_no", "thing2": "goods", "thing3": "carrier",
                    "character_string4": "tracking_no", "time5": "event_time"},
    Event.REFUNDED: {"character_string1": "order_no", "thing2": "goods", "amount3": "total", "time4": "event_time",
                     "phrase5": "status"},
    Event.CLOSED: {"character_string1": "order_no", "thing2": "goods", "amount3": "total", "time4": "event_time",
                   "phrase5": "status"},
}
TEMPLATE = {"character_string1": "order_no", "thing2": "goods", "amount3": "total", "time4": "event_time"}
TEMPLATE_SHIPPED = {"character_string1": "order_no", "thing2": "goods", "thing3": "carrier",
                    "character_string4": "tracking_no"}


def load(*, stdout) -> None:
    for event in Event:
        NotificationTemplate.objects.update_or_create(
            event=event, channel=Channel.SUBSCRIBE,
            defaults={"template_id": f"demo_sub_{event}", "page": PAGE, "miniprogram_state": "developer",
                      "keywords": SUBSCRIBE[event]},
        )
        keywords = TEMPLATE_SHIPPED if event == Event.SHIPPED else TEMPLATE
        NotificationTemplate.objects.update_or_create(
            event=event, channel=Channel.TEMPLATE,
            defaults={"template_id": f"demo_oa_{event}", "page": PAGE, "keywords": keywords},
        )
    stdout.write(f"notification templates: {NotificationTemplate.objects.count()}")
