"""Followers, their conversation (inbound messages/events and what we answered), auto-reply
rules, the custom menu and parametric QR scenes."""

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Tag(models.Model):
    tag_id = models.PositiveIntegerField("微信标签ID", unique=True)
    name = models.CharField("名称", max_length=30, blank=True)

    class Meta:
        verbose_name = "用户标签"
        verbose_name_plural = "用户标签"
        ordering = ["tag_id"]

    def __str__(self) -> str:
        return self.name or f"#{self.tag_id}"


class Follower(models.Model):
    """One openid of the official account. Customers link to it by `unionid`."""

    openid = models.CharField("OpenID", max_length=64, unique=True)
    unionid = models.CharField("UnionID", max_length=64, blank=True, db_index=True)
    is_subscribed = models.BooleanField("已关注", default=False, db_index=True)
    subscribed_at = models.DateTimeField("关注时间", null=True, blank=True)
    unsubscribed_at = models.DateTimeField("取消关注时间", null=True, blank=True)
    subscribe_scene = models.CharField("关注渠道", max_length=40, blank=True, db_index=True)
    qr_scene = models.CharField("二维码场景", max_length=64, blank=True, db_index=True)
    tags = models.ManyToManyField(Tag, verbose_name="标签", blank=True, related_name="followers")
    remark = models.CharField("备注", max_length=30, blank=True)
    language = models.CharField("语言", max_length=16, blank=True)
    last_interaction_at = models.DateTimeField("最近互动", null=True, blank=True, db_index=True)
    profile_fetched_at = models.DateTimeField("资料获取时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "粉丝"
        verbose_name_plural = "粉丝"
        ordering = ["-last_interaction_at", "-id"]

    def __str__(self) -> str:
        return self.remark or self.openid


class Message(models.Model):
    """One item of a conversation: an inbound message or event (with the passive reply we
    gave it), or an outbound customer-service message.

    `dedupe_key` is unique: `m:<MsgId>` for messages, `e:<from>:<CreateTime>:<event>:<key>`
    for events (spec 2.4), `cs:<inbound id>` for our follow-ups, so a retry stores nothing."""

    # Inbound types whose file is downloaded after commit (media/get).
    MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo"})

    class Direction(models.TextChoices):
        INBOUND = "in", "收到"
        OUTBOUND = "out", "发出"

    class Status(models.TextChoices):
        RECEIVED = "received", "已接收"
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        FAILED = "failed", "发送失败"

    direction = models.CharField("方向", max_length=3, choices=Direction.choices)
    openid = models.CharField("OpenID", max_length=64)
    dedupe_key = models.CharField("去重键", max_length=200)
    msg_type = models.CharField("消息类型", max_length=32)
    event = models.CharField("事件", max_length=64, blank=True)
    event_key = models.CharField("事件KEY", max_length=512, blank=True)
    qr_scene = models.CharField("二维码场景", max_length=64, blank=True)
    content = models.TextField("内容", blank=True)
    fields = models.JSONField("原始字段", default=dict, blank=True)
    wechat_created_at = models.DateTimeField("微信时间", null=True, blank=True)
    created_at = models.DateTimeField("记录时间", default=timezone.now)
    reply_kind = models.CharField("回复类型", max_length=20, blank=True)
    reply_text = models.TextField("回复摘要", blank=True)
    reply_xml = models.TextField("被动回复", blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.CharField("错误", max_length=255, blank=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    # An inbound image/voice/video's file, downloaded after commit (media ids live 3 days).
    # Database defaults: the callback's raw INSERT names only the columns it fills.
    media_file = models.FileField("媒体文件", max_length=255, blank=True, db_default="")
    media_content_type = models.CharField("媒体类型", max_length=100, blank=True, db_default="")
    media_url = models.CharField("视频地址", max_length=1024, blank=True, db_default="")
    in_reply_to = models.ForeignKey(
        "self", verbose_name="回复的消息", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="follow_ups", db_index=False,  # a partial index below: inbound rows skip it
    )

    class Meta:
        verbose_name = "消息"
        verbose_name_plural = "消息"
        ordering = ["created_at", "id"]
        # Each index costs every insert on the callback's hot path: the unique key is a
        # constraint (no extra LIKE index), and the rarely-set columns get partial indexes.
        constraints = [models.UniqueConstraint(fields=["dedupe_key"], name="oa_msg_dedupe_key_uniq")]
        indexes = [
            models.Index(fields=["openid", "created_at"], name="oa_msg_openid_time"),
            models.Index(fields=["qr_scene"], name="oa_msg_qr_scene", condition=~models.Q(qr_scene="")),
            models.Index(fields=["in_reply_to"], name="oa_msg_in_reply_to",
                         condition=models.Q(in_reply_to__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.msg_type} {self.openid}"

    @property
    def has_image_file(self) -> bool:
        return bool(self.media_file) and self.media_content_type.split(";")[0].strip() in INLINE_IMAGE_TYPES

    @property
    def video_link(self) -> str:
        """WeChat's download address of a video (only http/https links are shown)."""
        return self.media_url if self.media_url.startswith(("https://", "http://")) else ""


# Media types the back office shows inline (never SVG: it can carry script).
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif", "image/webp"})


class ReplyRule(models.Model):
    """An auto-reply: a keyword rule for user text, or an event rule (welcome, menu click,
    QR scan). Higher priority wins; ties go to the older rule."""

    class Trigger(models.TextChoices):
        KEYWORD = "keyword", "关键词"
        SUBSCRIBE = "subscribe", "关注欢迎语"
        CLICK = "click", "菜单点击"
        SCAN = "scan", "扫码"

    class Match(models.TextChoices):
        EXACT = "exact", "完全匹配"
        CONTAINS = "contains", "包含"
        REGEX = "regex", "正则"

    class Kind(models.TextChoices):
        TEXT = "text", "文字"
        IMAGE = "image", "图片"
        NEWS = "news", "图文"
        MINIPROGRAM = "miniprogram", "小程序卡片"

    name = models.CharField("规则名", max_length=60)
    trigger = models.CharField("触发方式", max_length=12, choices=Trigger.choices, default=Trigger.KEYWORD)
    match = models.CharField("匹配方式", max_length=10, choices=Match.choices, default=Match.EXACT)
    keyword = models.CharField(
        "关键词 / 事件KEY", max_length=200, blank=True,
        help_text="关键词规则：关键词或正则；菜单点击：按钮KEY；扫码：场景值（留空为任意场景）。",
    )
    priority = models.IntegerField("优先级", default=0, help_text="数字越大越优先。")
    is_active = models.BooleanField("启用", default=True)
    reply_kind = models.CharField("回复类型", max_length=12, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField("文字内容", blank=True)
    media_id = models.CharField("图片 media_id", max_length=128, blank=True)
    mp_title = models.CharField("卡片标题", max_length=64, blank=True)
    mp_appid = models.CharField("小程序AppID", max_length=32, blank=True, help_text="留空为本品牌小程序。")
    mp_pagepath = models.CharField("小程序页面", max_length=255, blank=True)
    mp_thumb_media_id = models.CharField("卡片封面 media_id", max_length=128, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "自动回复规则"
        verbose_name_plural = "自动回复规则"
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from officialaccount.rules import regex_problem

        if self.trigger == self.Trigger.KEYWORD and not self.keyword:
            raise ValidationError({"keyword": "关键词规则需要关键词。"})
        if self.trigger == self.Trigger.CLICK and not self.keyword:
            raise ValidationError({"keyword": "菜单点击规则需要按钮KEY。"})
        if self.trigger == self.Trigger.KEYWORD and self.match == self.Match.REGEX:
            problem = regex_problem(self.keyword)
            if problem:
                raise ValidationError({"keyword": problem})
        if self.reply_kind == self.Kind.TEXT and not self.text:
            raise ValidationError({"text": "文字回复需要内容。"})
        if self.reply_kind == self.Kind.IMAGE and not self.media_id:
            raise ValidationError({"media_id": "图片回复需要 media_id。"})
        if self.reply_kind == self.Kind.MINIPROGRAM and not (
            self.mp_title and self.mp_pagepath and self.mp_thumb_media_id
        ):
            raise ValidationError("小程序卡片需要标题、页面和封面 media_id。")


class ReplyArticle(models.Model):
    rule = models.ForeignKey(ReplyRule, verbose_name="规则", on_delete=models.CASCADE, related_name="articles")
    position = models.PositiveSmallIntegerField("顺序", default=0)
    title = models.CharField("标题", max_length=64)
    description = models.CharField("摘要", max_length=120, blank=True)
    pic_url = models.URLField("封面图片URL", blank=True)
    url = models.URLField("链接", blank=True)

    class Meta:
        verbose_name = "图文"
        verbose_name_plural = "图文"
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


class AutoReplySettings(models.Model):
    """The singleton (pk=1): default reply and out-of-hours reply (Asia/Shanghai hours)."""

    default_reply_text = models.TextField(
        "默认回复", blank=True, help_text="没有规则和商品匹配时的回复；留空则不回复。"
    )
    out_of_hours_enabled = models.BooleanField("启用非工作时间回复", default=False)
    service_start = models.TimeField("客服上班时间", default=datetime.time(9, 0))
    service_end = models.TimeField("客服下班时间", default=datetime.time(21, 0))
    out_of_hours_text = models.TextField("非工作时间回复", blank=True)
    match_products = models.BooleanField("用商品回复提到商品的消息", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "自动回复设置"
        verbose_name_plural = "自动回复设置"

    def __str__(self) -> str:
        return "自动回复设置"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)


class Menu(models.Model):
    """The custom menu; its buttons are edited inline and pushed with `menu/create`."""

    name = models.CharField("名称", max_length=60, default="自定义菜单")
    pushed_at = models.DateTimeField("推送时间", null=True, blank=True)
    push_error = models.CharField("推送错误", max_length=255, blank=True)

    class Meta:
        verbose_name = "自定义菜单"
        verbose_name_plural = "自定义菜单"

    def __str__(self) -> str:
        return self.name


class MenuButton(models.Model):
    class Kind(models.TextChoices):
        SUB = "sub", "子菜单"
        CLICK = "click", "点击（KEY）"
        VIEW = "view", "网页"
        MINIPROGRAM = "miniprogram", "小程序"

    menu = models.ForeignKey(Menu, verbose_name="菜单", on_delete=models.CASCADE, related_name="buttons")
    parent = models.ForeignKey(
        "self", verbose_name="上级按钮", null=True, blank=True, on_delete=models.CASCADE,
        related_name="children", limit_choices_to={"kind": "sub"},
    )
    position = models.PositiveSmallIntegerField("顺序", default=0)
    name = models.CharField("名称", max_length=40)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices, default=Kind.CLICK)
    key = models.CharField("KEY", max_length=128, blank=True)
    url = models.URLField("网址", max_length=1024, blank=True, help_text="网页按钮的地址；小程序按钮的备用网页。")
    appid = models.CharField("小程序AppID", max_length=32, blank=True, help_text="留空为本品牌小程序。")
    pagepath = models.CharField("小程序页面", max_length=255, blank=True)

    class Meta:
        verbose_name = "菜单按钮"
        verbose_name_plural = "菜单按钮"
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.CLICK and not self.key:
            raise ValidationError({"key": "点击按钮需要KEY。"})
        if self.kind == self.Kind.VIEW and not self.url:
            raise ValidationError({"url": "网页按钮需要网址。"})
        if self.kind == self.Kind.MINIPROGRAM and not (self.pagepath and self.url):
            raise ValidationError("小程序按钮需要页面和备用网址。")
        if self.parent_id and self.parent and self.parent.parent_id:
            raise ValidationError({"parent": "菜单最多两级。"})


class QrScene(models.Model):
    """A parametric QR code for a campaign; scans and follows are attributed by scene."""

    name = models.CharField("名称", max_length=60)
    scene = models.CharField("场景值", max_length=64, unique=True)
    is_permanent = models.BooleanField("永久二维码", default=True)
    expire_seconds = models.PositiveIntegerField("有效期（秒）", default=2592000)
    ticket = models.CharField("ticket", max_length=255, blank=True)
    url = models.URLField("二维码内容", max_length=512, blank=True)
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "渠道二维码"
        verbose_name_plural = "渠道二维码"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.scene})"
