"""Mini-program customers, their API tokens and their subscribe-message grants.

A customer is not a django.contrib.auth user: the mini-program's openid identifies them, and
the Bearer token authenticates them. `session_key` and the phone number are encrypted at rest.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from miniprogram_api.fields import EncryptedTextField


class Customer(models.Model):
    # Null once the customer erased their data, so the same WeChat user can sign up afresh.
    openid = models.CharField(_("mini-program openid"), max_length=64, unique=True, null=True, blank=True)
    # Links to the official-account follower with the same unionid (no cross-app FK).
    unionid = models.CharField(_("unionid"), max_length=64, blank=True, db_index=True)
    session_key = EncryptedTextField(blank=True, editable=False)
    nickname = models.CharField(_("nickname"), max_length=64, blank=True)
    avatar_url = models.URLField(_("avatar URL"), max_length=500, blank=True)
    gender = models.PositiveSmallIntegerField(
        _("gender"), default=0, choices=[(0, _("unknown")), (1, _("male")), (2, _("female"))]
    )
    phone = EncryptedTextField(_("phone"), blank=True, editable=False)
    phone_country_code = models.CharField(max_length=8, blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_login_at = models.DateTimeField(_("last login"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    # What DRF's IsAuthenticated and throttles look for on request.user.
    is_authenticated = True
    is_anonymous = False

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [("view_full_phone", _("Can see full phone numbers (each view is audited)"))]

    def __str__(self) -> str:
        return self.nickname or f"customer {self.pk}"

    @property
    def phone_masked(self) -> str:
        phone = self.phone or ""
        if len(phone) < 7:
            return "*" * len(phone)
        return f"{phone[:3]}****{phone[-4:]}"


class ApiToken(models.Model):
    """A Bearer token: only its sha256 is stored. Revoked by logout and erasure."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["customer", "revoked_at"], name="mpapi_token_customer_live")]

    def __str__(self) -> str:
        return f"token {self.pk} of customer {self.customer_id}"


class SubscriptionGrant(models.Model):
    """How many subscribe messages the customer allowed for one template.

    Each "accept" from wx.requestSubscribeMessage grants one send (spec 5.2); the
    notifications work consumes them with `subscription_grant_consume`."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscription_grants")
    template_id = models.CharField(_("template id"), max_length=64)
    available = models.PositiveIntegerField(_("sends available"), default=0)
    last_result = models.CharField(_("last answer"), max_length=16, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("subscription grant")
        verbose_name_plural = _("subscription grants")
        constraints = [
            models.UniqueConstraint(fields=["customer", "template_id"], name="mpapi_grant_once_per_template"),
            models.CheckConstraint(condition=Q(available__gte=0), name="mpapi_grant_available_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id}: {self.available}"


class PhoneReveal(models.Model):
    """One look at a full phone number in the admin: who looked, whose number, when.

    Phones are shown masked; a staff member with `view_full_phone` may reveal one, and each
    reveal leaves a row here (PIPL: access to personal information is recorded)."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff member"), on_delete=models.SET_NULL, null=True,
        related_name="+",
    )
    staff_username = models.CharField(_("staff username"), max_length=150)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What was shown: "customer" (the bound phone) or an order's recipient phone.
    source = models.CharField(_("source"), max_length=64)
    created_at = models.DateTimeField(_("viewed at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("phone number view")
        verbose_name_plural = _("phone number views")

    def __str__(self) -> str:
        return f"{self.staff_username} → {self.source} ({self.created_at:%Y-%m-%d %H:%M})"
