"""The merchant's switchboard of notice templates, and the outbox of notices with what WeChat
answered to each try. Notices are read-only; the resend action calls the service."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import Channel, Notice, NoticeAttempt, NotificationTemplate
from notifications.services import notice_resend
from notifications.values import FIELDS, keyword_kind


class NotificationTemplateForm(forms.ModelForm):
    # A link typed without a scheme is https (Django 6's default, asked for now).
    url = NotificationTemplate._meta.get_field("url").formfield(assume_scheme="https")

    class Meta:
        model = NotificationTemplate
        fields = ("event", "channel", "is_enabled", "template_id", "page", "url", "miniprogram_state", "keywords")

    def clean_keywords(self):
        keywords = self.cleaned_data["keywords"]
        if not isinstance(keywords, dict):
            raise forms.ValidationError(_("Enter an object: keyword name → order field."))
        for name, field in keywords.items():
            try:
                keyword_kind(name)
            except ValueError:
                raise forms.ValidationError(
                    _("%(name)s is not a keyword name (a type and a number, e.g. thing1)."), params={"name": name})
            if field not in FIELDS:
                raise forms.ValidationError(
                    _("%(field)s is not an order field. Known fields: %(known)s."),
                    params={"field": field, "known": ", ".join(FIELDS)})
        return keywords

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("channel") == Channel.SUBSCRIBE and cleaned.get("url"):
            self.add_error("url", _("Subscribe messages open a mini-program page, not a web page."))
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ("event", "channel", "is_enabled", "template_id", "page", "miniprogram_state", "updated_at")
    list_editable = ("is_enabled",)
    list_filter = ("event", "channel", "is_enabled")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        known = "; ".join(f"{name}: {label}" for name, (label, _getter) in FIELDS.items())
        form.base_fields["keywords"].help_text = f"{form.base_fields['keywords'].help_text} {known}"
        return form


class NoticeAttemptInline(admin.TabularInline):
    model = NoticeAttempt
    extra = 0
    can_delete = False
    fields = ("at", "outcome", "errcode", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("order", "event", "channel", "status", "attempts", "last_errcode", "last_error",
                    "last_attempt_at", "sent_at")
    list_filter = ("status", "event", "channel", "created_at")
    search_fields = ("=order__order_no", "=touser")
    list_select_related = ("order",)
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = ["resend"]
    inlines = [NoticeAttemptInline]
    fields = ("order", "customer", "event", "channel", "status", "skip_reason", "touser", "template_id",
              "payload", "client_msg_id", "attempts", "last_errcode", "last_error", "last_attempt_at",
              "next_attempt_at", "msgid", "created_at", "sent_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # notices are written by order changes

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what customers were told stays

    @admin.action(description=_("Resend selected failed notices"), permissions=["change"])
    def resend(self, request, queryset):
        resent = sum(notice_resend(notice_id=pk) for pk in queryset.values_list("pk", flat=True))
        skipped = queryset.count() - resent
        self.message_user(request, ngettext("%d notice queued again.", "%d notices queued again.", resent)
                          % resent, messages.SUCCESS)
        if skipped:
            self.message_user(request, _("%d selected notices were not failed and were left as they are.")
                              % skipped, messages.WARNING)
