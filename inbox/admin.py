"""The inbox in the back office: the conversation list, one conversation's page (reply,
note, assign, state) and the response metrics with their chart. Actions call services."""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inbox import selectors, services
from inbox.chart import metrics_svg
from inbox.forms import AssignForm, MetricsForm, NoteForm, ReplyForm, StateForm
from inbox.models import CannedReply, Conversation
from wxbackend.api import DomainError


def format_left(left: datetime.timedelta | None) -> str:
    """"11 h 5 min left", or why no reply is possible."""
    if left is None:
        return gettext("no customer message yet")
    if left <= datetime.timedelta(0):
        return gettext("window closed")
    minutes = int(left.total_seconds() // 60)
    return gettext("%(h)d h %(m)d min left") % {"h": minutes // 60, "m": minutes % 60}


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "text", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    search_fields = ["title", "text"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "state", "assignee", "unread_count", "last_inbound_at",
                    "time_left", "send_failed"]
    list_filter = ["state", "channel", "assignee"]
    search_fields = ["=contact"]
    list_per_page = 50
    actions = ["assign_to_me", "mark_pending", "close"]
    change_list_template = "admin/inbox/conversation/change_list.html"

    def get_queryset(self, request):
        return selectors.conversation_list()

    def has_add_permission(self, request):
        return False  # customers open conversations by writing

    def get_search_results(self, request, queryset, search_term):
        """An openid, or the follower's remark or unionid (the list shows the remark)."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            from officialaccount.models import Follower

            openids = Follower.objects.filter(Q(remark__icontains=term) | Q(unionid=term)).values("openid")
            queryset |= self.model.objects.filter(contact__in=openids)
        return queryset, may_have_duplicates

    @admin.display(description=_("customer"), ordering="contact")
    def customer(self, obj: Conversation) -> str:
        url = reverse("admin:inbox_conversation_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.contact_label or obj.contact)

    @admin.display(description=_("reply window"))
    def time_left(self, obj: Conversation) -> str:
        if obj.last_inbound_at is None:
            return "-"
        return format_left(obj.last_inbound_at + datetime.timedelta(hours=48) - timezone.now())

    @admin.display(description=_("send failed"), boolean=True)
    def send_failed(self, obj: Conversation) -> bool:
        return obj.has_failed_send

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        for conversation in queryset:
            services.conversation_assign(conversation_id=conversation.pk, assignee=request.user)

    @admin.action(description=_("Mark as pending (waiting for the customer)"), permissions=["change"])
    def mark_pending(self, request, queryset):
        for conversation in queryset:
            services.conversation_set_state(conversation_id=conversation.pk, state=Conversation.State.PENDING)

    @admin.action(description=_("Close"), permissions=["change"])
    def close(self, request, queryset):
        for conversation in queryset:
            services.conversation_set_state(conversation_id=conversation.pk, state=Conversation.State.CLOSED)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("metrics/", view(self.metrics_view), name="inbox_conversation_metrics"),
            path("metrics/chart.svg", view(self.chart_view), name="inbox_conversation_chart"),
            path("start/<str:channel>/<str:contact>/", view(self.start_view), name="inbox_conversation_start"),
            path("customer/<int:customer_id>/", view(self.person_view), name="inbox_customer_person"),
            *super().get_urls(),
        ]

    # --- one conversation -------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The conversation: messages, the reply form (with the time left), notes,
        assignment and state. POSTs name their form in `do`."""
        conversation = get_object_or_404(selectors.conversation_list(), pk=object_id)
        if not self.has_view_permission(request, conversation):
            raise PermissionDenied
        forms = {"reply": ReplyForm(), "note": NoteForm(),
                 "assign": AssignForm(initial={"assignee": conversation.assignee_id}),
                 "state": StateForm(initial={"state": conversation.state})}
        if request.method == "POST":
            if not self.has_change_permission(request, conversation):
                raise PermissionDenied
            done = self._post(request, conversation, forms)
            if done:
                return HttpResponseRedirect(request.path)
        elif conversation.unread_count:
            services.conversation_mark_read(conversation_id=conversation.pk)
        page = selectors.conversation_page(conversation=conversation)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "original": conversation, "page": page,
            "window_text": format_left(page.window_left),
            "can_reply": page.is_reachable and page.window_left is not None and page.window_left.total_seconds() > 0,
            "canned_texts": {str(r.pk): r.text for r in page.canned},
            "forms": forms, "title": gettext("Conversation with %(who)s") % {"who": page.person or conversation.contact},
            "has_change_permission": self.has_change_permission(request, conversation),
        }
        return TemplateResponse(request, "admin/inbox/conversation/page.html", context)

    def _post(self, request, conversation: Conversation, forms: dict) -> bool:
        """Apply one posted form; False (with the bound form kept) when it is invalid."""
        kind = request.POST.get("do")
        if kind not in forms:
            self.message_user(request, gettext("Unknown action."), messages.ERROR)
            return True
        form = forms[kind] = type(forms[kind])(request.POST)
        if not form.is_valid():
            return False
        data = form.cleaned_data
        if kind == "reply":
            try:
                services.conversation_reply(conversation_id=conversation.pk, staff=request.user,
                                            message=form.staff_message())
            except DomainError as exc:
                self.message_user(request, gettext("Not sent: %(reason)s") % {"reason": exc.detail}, messages.ERROR)
                return False
            self.message_user(request, gettext("Reply queued for sending."), messages.SUCCESS)
        elif kind == "note":
            services.note_add(conversation_id=conversation.pk, author=request.user, text=data["note"])
        elif kind == "assign":
            services.conversation_assign(conversation_id=conversation.pk, assignee=data["assignee"])
        else:
            services.conversation_set_state(conversation_id=conversation.pk, state=data["state"])
        return True

    def start_view(self, request, channel: str, contact: str):
        """Open the customer's conversation (created if they have none) from their pages."""
        if channel not in dict(Conversation._meta.get_field("channel").choices):
            raise PermissionDenied
        if not self.has_change_permission(request):
            raise PermissionDenied
        conversation = services.conversation_start(channel=channel, contact=contact[:64])
        return HttpResponseRedirect(reverse("admin:inbox_conversation_change", args=[conversation.pk]))

    def person_view(self, request, customer_id: int):
        """One customer: the mini-program customer and the follower with the same unionid,
        their orders, conversations, notices and subscriptions (needs the customer view
        permission)."""
        from inbox.person import person_for_customer
        from miniprogram_api.models import Customer

        customer = get_object_or_404(Customer, pk=customer_id)
        if not request.user.has_perm("miniprogram_api.view_customer"):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request), "opts": Customer._meta,
            "person": person_for_customer(customer=customer), "original": customer,
            "title": gettext("One customer: %(who)s") % {"who": customer},
        }
        return TemplateResponse(request, "admin/inbox/person.html", context)

    # --- metrics ------------------------------------------------------------------------------

    def _metrics_range(self, request) -> tuple[MetricsForm, datetime.date, datetime.date]:
        today = timezone.localdate()
        default = {"start": today - datetime.timedelta(days=13), "end": today}
        form = MetricsForm(request.GET or None, initial=default)
        if form.is_bound and form.is_valid():
            return form, form.cleaned_data["start"], form.cleaned_data["end"]
        return form, default["start"], default["end"]

    def metrics_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, start, end = self._metrics_range(request)
        metrics = selectors.response_metrics(start=start, end=end)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": gettext("Response metrics"), "form": form, "metrics": metrics,
            "chart_url": reverse("admin:inbox_conversation_chart") + f"?start={start}&end={end}",
        }
        return TemplateResponse(request, "admin/inbox/conversation/metrics.html", context)

    def chart_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        _form, start, end = self._metrics_range(request)
        svg = metrics_svg(selectors.response_metrics(start=start, end=end))
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        return response

