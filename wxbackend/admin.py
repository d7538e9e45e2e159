from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from wxbackend.models import OutboxItem


@admin.register(OutboxItem)
class OutboxItemAdmin(admin.ModelAdmin):
    """Side effects waiting, done or failed: read-only, with one action to try failed ones again."""

    list_display = ["key", "task", "status", "attempts", "available_at", "done_at", "last_error"]
    list_filter = ["status", "task"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxItem._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Try the selected side effects again"), permissions=["change"])
    def retry(self, request, queryset):
        from wxbackend.outbox import relay_kick

        count = queryset.filter(status=OutboxItem.Status.FAILED).update(
            status=OutboxItem.Status.PENDING, attempts=0, available_at=timezone.now()
        )
        relay_kick()
        self.message_user(
            request, ngettext("%d side effect queued again.", "%d side effects queued again.", count) % count,
            messages.SUCCESS,
        )


def _index_with_dashboard(index):
    """The admin's index with the merchant's dashboard above the app list (wxbackend.dashboard)."""

    def view(request, extra_context=None):
        from wxbackend.dashboard import dashboard

        context = {"dashboard": dashboard(request.user), **(extra_context or {})}
        return index(request, extra_context=context)

    return view


admin.site.index_template = "admin/dashboard_index.html"
admin.site.index = _index_with_dashboard(admin.site.index)
