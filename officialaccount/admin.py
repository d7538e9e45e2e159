"""The back office for the official account (Simplified Chinese): followers and their
conversations, auto-reply rules, the menu and QR scenes. Actions call services."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import models
from django.http import FileResponse, Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from officialaccount import selectors, services
from officialaccount.exceptions import MenuInvalid
from officialaccount.models import (
    AutoReplySettings,
    Follower,
    Menu,
    MenuButton,
    Message,
    QrScene,
    ReplyArticle,
    ReplyRule,
    Tag,
)
from wxbackend.wechat import WeChatError

# Staff type addresses without a scheme; WeChat wants https.
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Tags are WeChat's: names are fetched (tags/get), not edited here."""

    list_display = ["tag_id", "name"]
    search_fields = ["name"]
    readonly_fields = ["tag_id", "name"]
    change_list_template = "admin/officialaccount/tag/change_list.html"

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        sync = path("sync/", self.admin_site.admin_view(self.sync_view), name="officialaccount_tag_sync")
        return [sync, *super().get_urls()]

    def sync_view(self, request):
        """POST: fetch the tag names from WeChat (the changelist's button)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            count = services.tags_sync()
        except WeChatError as exc:
            self.message_user(request, f"同步失败：微信拒绝（{exc}）", messages.ERROR)
        else:
            self.message_user(request, f"已从微信同步 {count} 个标签", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:officialaccount_tag_changelist"))


@admin.register(Follower)
class FollowerAdmin(admin.ModelAdmin):
    list_display = [
        "openid", "remark", "unionid", "is_subscribed", "subscribed_at", "subscribe_scene", "qr_scene",
        "tag_names", "last_interaction_at", "conversation_link",
    ]
    list_filter = ["is_subscribed", "subscribe_scene", "qr_scene", "tags"]
    search_fields = ["openid", "unionid", "remark"]
    readonly_fields = [
        "openid", "unionid", "is_subscribed", "subscribed_at", "unsubscribed_at", "subscribe_scene", "qr_scene",
        "language", "tags", "last_interaction_at", "profile_fetched_at", "created_at", "updated_at",
        "conversation_link",
    ]
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        """Only the remark is editable; it is set on WeChat first (updateremark)."""
        if not change or "remark" not in form.changed_data:
            return
        try:
            services.follower_remark_set(follower_id=obj.pk, remark=form.cleaned_data["remark"])
        except WeChatError as exc:
            self.message_user(request, f"备注未保存：微信拒绝（{exc}）", messages.ERROR)

    def get_queryset(self, request):
        return selectors.follower_list()

    def has_add_permission(self, request):
        return False  # followers come from WeChat

    @admin.display(description="标签")
    def tag_names(self, obj: Follower) -> str:
        return "、".join(str(t) for t in obj.tags.all())

    @admin.display(description="会话")
    def conversation_link(self, obj: Follower) -> str:
        if not obj.pk:
            return "-"
        url = reverse("admin:officialaccount_follower_conversation", args=[obj.pk])
        return format_html('<a href="{}">查看会话</a>', url)

    def get_urls(self):
        urls = super().get_urls()
        extra = [
            path(
                "<int:follower_id>/conversation/",
                self.admin_site.admin_view(self.conversation_view),
                name="officialaccount_follower_conversation",
            )
        ]
        return extra + urls

    def conversation_view(self, request, follower_id: int):
        """Inbound and outbound messages in order, each inbound with our reply."""
        follower = get_object_or_404(Follower, pk=follower_id)
        if not self.has_view_permission(request, follower):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": follower,
            "follower": follower,
            "conversation": selectors.conversation_for_follower(follower=follower),
            "title": f"与 {follower} 的会话",
        }
        return TemplateResponse(request, "admin/officialaccount/follower/conversation.html", context)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "direction", "openid", "msg_type", "event", "short_content", "reply_text", "status"]
    list_filter = ["direction", "msg_type", "event", "status"]
    search_fields = ["openid", "content", "dedupe_key"]
    list_per_page = 100
    # The file is shown through media_view (staff only), never by its storage URL.
    exclude = ["media_file"]
    readonly_fields = ["media_link"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the conversation is a record: read only

    @admin.display(description="媒体文件")
    def media_link(self, obj: Message) -> str:
        if not obj.media_file:
            return obj.video_link or "-"
        url = reverse("admin:officialaccount_message_media", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, "查看" if obj.has_image_file else "下载")

    @admin.display(description="内容")
    def short_content(self, obj: Message) -> str:
        return obj.content[:60]

    def get_urls(self):
        media = path("<int:message_id>/media/", self.admin_site.admin_view(self.media_view),
                     name="officialaccount_message_media")
        return [media, *super().get_urls()]

    def media_view(self, request, message_id: int):
        """The downloaded file of an inbound image/voice/video: images inline, the rest as a
        download (served from storage with our own content type, never the sender's)."""
        message = get_object_or_404(Message, pk=message_id)
        if not self.has_view_permission(request, message):
            raise PermissionDenied
        if not message.media_file:
            raise Http404("no media file")
        try:
            handle = default_storage.open(message.media_file.name, "rb")
        except FileNotFoundError:
            raise Http404("media file missing")
        inline = message.has_image_file
        return FileResponse(
            handle, as_attachment=not inline, filename=message.media_file.name.rsplit("/", 1)[-1],
            content_type=message.media_content_type.split(";")[0].strip() if inline else "application/octet-stream",
        )


class ReplyArticleInline(admin.TabularInline):
    model = ReplyArticle
    extra = 0
    formfield_overrides = HTTPS_URLS
    max_num = 8


@admin.register(ReplyRule)
class ReplyRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "match", "keyword", "priority", "reply_kind", "is_active"]
    list_filter = ["trigger", "reply_kind", "is_active"]
    list_editable = ["priority", "is_active"]
    search_fields = ["name", "keyword", "text"]
    inlines = [ReplyArticleInline]
    fieldsets = [
        (None, {"fields": ["name", "trigger", "match", "keyword", "priority", "is_active"]}),
        ("回复", {"fields": ["reply_kind", "text", "media_id"]}),
        ("小程序卡片（经客服消息发送）", {"fields": ["mp_title", "mp_appid", "mp_pagepath", "mp_thumb_media_id"]}),
    ]


@admin.register(AutoReplySettings)
class AutoReplySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "default_reply_text", "out_of_hours_enabled", "service_start", "service_end"]

    def has_add_permission(self, request):
        return not AutoReplySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class MenuButtonInline(admin.TabularInline):
    model = MenuButton
    fk_name = "menu"
    extra = 0
    formfield_overrides = HTTPS_URLS
    fields = ["parent", "position", "name", "kind", "key", "url", "appid", "pagepath"]


@admin.register(Menu)
class MenuAdmin(admin.ModelAdmin):
    list_display = ["name", "pushed_at", "push_error"]
    readonly_fields = ["pushed_at", "push_error"]
    inlines = [MenuButtonInline]
    actions = ["push"]

    @admin.action(description="推送到微信（menu/create）", permissions=["change"])
    def push(self, request, queryset):
        for menu in queryset:
            try:
                services.menu_push(menu_id=menu.pk)
            except (MenuInvalid, WeChatError) as exc:
                self.message_user(request, f"{menu}：推送失败（{exc}）", messages.ERROR)
            else:
                self.message_user(request, f"{menu}：已推送", messages.SUCCESS)


@admin.register(QrScene)
class QrSceneAdmin(admin.ModelAdmin):
    list_display = [
        "name", "scene", "is_permanent", "has_code", "scans", "subscribes", "followers", "expires_at", "created_at",
    ]
    search_fields = ["name", "scene"]
    readonly_fields = ["ticket", "url", "expires_at", "created_at"]
    formfield_overrides = HTTPS_URLS
    actions = ["create_codes"]

    def get_queryset(self, request):
        return selectors.qr_scene_list()

    @admin.display(description="已生成", boolean=True)
    def has_code(self, obj: QrScene) -> bool:
        return bool(obj.ticket)

    @admin.display(description="扫码次数", ordering="scan_count")
    def scans(self, obj: QrScene) -> int:
        return obj.scan_count

    @admin.display(description="扫码关注", ordering="subscribe_count")
    def subscribes(self, obj: QrScene) -> int:
        return obj.subscribe_count

    @admin.display(description="带来粉丝", ordering="follower_count")
    def followers(self, obj: QrScene) -> int:
        return obj.follower_count

    @admin.action(description="生成二维码（qrcode/create）", permissions=["change"])
    def create_codes(self, request, queryset):
        for scene in queryset:
            try:
                services.qr_scene_create_code(scene_id=scene.pk)
            except WeChatError as exc:
                self.message_user(request, f"{scene}：生成失败（{exc}）", messages.ERROR)
            else:
                self.message_user(request, f"{scene}：已生成", messages.SUCCESS)
