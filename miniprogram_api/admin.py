"""Customers in the back office: masked phones, no session_key anywhere."""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from miniprogram_api.crypto import lookup_hashes
from miniprogram_api.models import Customer, PhoneReveal, SubscriptionGrant
from miniprogram_api.phones import phone_reveal_response
from miniprogram_api.selectors import customer_follower
from miniprogram_api.services import customer_erase


class SubscriptionGrantInline(admin.TabularInline):
    model = SubscriptionGrant
    extra = 0
    fields = ("template_id", "available", "last_result", "updated_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "nickname", "masked_phone", "openid", "unionid", "created_at", "last_login_at", "erased_at")
    list_filter = ("gender", "created_at", "erased_at")
    search_fields = ("=openid", "=unionid", "nickname")
    # session_key is never shown; the phone only masked.
    fields = ("person", "openid", "unionid", "follower", "nickname", "avatar_url", "gender", "masked_phone",
              "created_at", "last_login_at", "erased_at")
    readonly_fields = fields  # what customers told WeChat is theirs to change, not ours
    inlines = [SubscriptionGrantInline]
    actions = ["erase"]

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        if not obj.phone:
            return "-"
        if not obj.pk:
            return obj.phone_masked
        url = reverse("admin:miniprogram_api_customer_phone", args=[obj.pk])
        return format_html('{} <a href="{}">{}</a>', obj.phone_masked, url, _("show in full"))

    def get_urls(self):
        reveal = path("<int:customer_id>/phone/", self.admin_site.admin_view(self.phone_view),
                      name="miniprogram_api_customer_phone")
        return [reveal, *super().get_urls()]

    def phone_view(self, request, customer_id: int):
        """The customer's full phone number, for staff allowed to see it; each look is recorded."""
        customer = get_object_or_404(Customer, pk=customer_id)
        return phone_reveal_response(self, request, customer, phone=customer.phone, customer_id=customer.pk,
                                     source="customer")

    @admin.display(description=_("official-account follower"))
    def follower(self, obj):
        follower = customer_follower(customer=obj)
        return str(follower) if follower else "-"

    @admin.display(description=_("one customer"))
    def person(self, obj):
        """A link to the one-customer page (orders, conversations, notices, subscriptions)."""
        url = reverse("admin:inbox_customer_person", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("orders, conversations, notices and subscriptions"))

    def get_search_results(self, request, queryset, search_term):
        """A full phone number finds its customer through the keyed hash (phones are encrypted)."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and len(term) >= 7:
            queryset |= self.model.objects.filter(phone_hash__in=lookup_hashes(f"+86{term}"))
        return queryset, may_have_duplicates

    def has_add_permission(self, request):
        return False  # customers sign up through the mini-program

    def has_delete_permission(self, request, obj=None):
        return False  # orders refer to customers: erase instead (the action below)

    def has_erase_permission(self, request):
        """Erasing is the deletion of a customer: it takes the delete permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    @admin.action(description=_("Erase personal data of selected customers (PIPL)"), permissions=["erase"])
    def erase(self, request, queryset):
        """The same erasure as DELETE /api/v1/me; orders and payments stay without personal data."""
        erased = sum(
            customer_erase(customer_id=pk, actor=f"staff:{request.user.pk}")
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, _("%d customers erased.") % erased, messages.SUCCESS)


@admin.register(PhoneReveal)
class PhoneRevealAdmin(admin.ModelAdmin):
    """The audit of full phone numbers shown: read only, kept as a record."""

    list_display = ("created_at", "staff_username", "customer", "source")
    list_filter = ("created_at",)
    search_fields = ("staff_username", "=customer__id", "source")
    list_select_related = ("customer",)
    readonly_fields = ("created_at", "staff", "staff_username", "customer", "source")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
