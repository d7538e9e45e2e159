"""Demo data for the official account: the `你好` keyword rule, a welcome reply, a menu and
a QR scene (idempotent)."""

import datetime

from django.conf import settings

from officialaccount.models import AutoReplySettings, Menu, MenuButton, QrScene, ReplyArticle, ReplyRule


def load(*, stdout) -> None:
    ReplyRule.objects.update_or_create(
        name="问候", trigger=ReplyRule.Trigger.KEYWORD,
        defaults={"match": ReplyRule.Match.EXACT, "keyword": "你好", "reply_kind": ReplyRule.Kind.TEXT,
                  "text": "您好，欢迎光临！发送商品名称（例如“保温杯”）即可查看商品。", "priority": 10},
    )
    ReplyRule.objects.update_or_create(
        name="关注欢迎语", trigger=ReplyRule.Trigger.SUBSCRIBE,
        defaults={"reply_kind": ReplyRule.Kind.TEXT, "text": "感谢关注！点击菜单“商城”进入小程序选购，或直接发送商品名称。"},
    )
    news, _ = ReplyRule.objects.update_or_create(
        name="新品推荐", trigger=ReplyRule.Trigger.CLICK,
        defaults={"keyword": "NEW_ARRIVALS", "reply_kind": ReplyRule.Kind.NEWS},
    )
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    ReplyArticle.objects.update_or_create(
        rule=news, position=0,
        defaults={"title": "本周新品", "description": "316不锈钢保温杯等新品上架", "url": f"{base}/",
                  "pic_url": f"{base}/static/demo/new.png"},
    )
    AutoReplySettings.objects.update_or_create(
        pk=1,
        defaults={"default_reply_text": "收到您的消息，客服稍后回复。",
                  "out_of_hours_enabled": True, "service_start": datetime.time(9, 0),
                  "service_end": datetime.time(21, 0),
                  "out_of_hours_text": "客服工作时间为 9:00–21:00，我们上班后会尽快回复您。"},
    )
    menu, _ = Menu.objects.get_or_create(name="自定义菜单")
    if not menu.buttons.exists():
        MenuButton.objects.create(
            menu=menu, position=0, name="商城", kind=MenuButton.Kind.MINIPROGRAM,
            url=f"{base}/", pagepath="pages/index/index",
        )
        more = MenuButton.objects.create(menu=menu, position=1, name="发现", kind=MenuButton.Kind.SUB)
        MenuButton.objects.create(menu=menu, parent=more, position=0, name="新品推荐",
                                  kind=MenuButton.Kind.CLICK, key="NEW_ARRIVALS")
        MenuButton.objects.create(menu=menu, parent=more, position=1, name="品牌故事",
                                  kind=MenuButton.Kind.VIEW, url=f"{base}/")
    QrScene.objects.get_or_create(scene="demo_poster", defaults={"name": "线下海报"})
    stdout.write("officialaccount: rules, welcome reply, menu and QR scene loaded.")
