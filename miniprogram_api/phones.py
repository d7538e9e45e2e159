"""Phone numbers in the back office: masked by default; revealed one at a time to staff
holding `miniprogram_api.view_full_phone`, each reveal recorded as a PhoneReveal row."""

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from miniprogram_api.models import PhoneReveal
from wxbackend.roles import FULL_PHONE_PERMISSION


def mask_phone(phone: str) -> str:
    """`138****8000`: enough for staff to tell numbers apart, not to call one."""
    phone = phone or ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def can_reveal_phone(user) -> bool:
    return user.is_active and user.has_perm(FULL_PHONE_PERMISSION)


def phone_reveal_record(*, user, customer_id: int | None, source: str) -> PhoneReveal:
    """Record that `user` saw a full phone number (whose: `customer_id`; where: `source`)."""
    return PhoneReveal.objects.create(
        staff=user, staff_username=user.get_username(), customer_id=customer_id, source=source[:64]
    )


def phone_reveal_response(model_admin, request, obj, *, phone: str, customer_id: int | None, source: str):
    """The admin page showing one full number, after checking both permissions and recording
    the look. Raises PermissionDenied for staff who may not see the object or the number."""
    if not model_admin.has_view_permission(request, obj) or not can_reveal_phone(request.user):
        raise PermissionDenied
    phone_reveal_record(user=request.user, customer_id=customer_id, source=source)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": _("Full phone number"),
        "phone": phone or "-",
    }
    return TemplateResponse(request, "admin/phone_reveal.html", context)
