"""The mini-program customer's sections of the personal-data export and erasure."""

from django.apps import apps

from miniprogram_api.models import Customer, SubscriptionGrant
from wxbackend.privacy import DataSubject, section_register


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _profile(subject: DataSubject) -> dict:
    customer = Customer.objects.get(pk=subject.customer_id)
    return {
        "id": customer.pk, "openid": customer.openid, "unionid": customer.unionid,
        "nickname": customer.nickname, "avatar_url": customer.avatar_url, "gender": customer.gender,
        "phone": customer.phone, "phone_country_code": customer.phone_country_code,
        "created_at": customer.created_at.isoformat(), "last_login_at": _iso(customer.last_login_at),
    }


def _subscriptions(subject: DataSubject) -> list[dict]:
    return [
        {"template_id": g.template_id, "available": g.available, "last_result": g.last_result}
        for g in SubscriptionGrant.objects.filter(customer_id=subject.customer_id).order_by("template_id")
    ]


def _subscriptions_erase(subject: DataSubject) -> None:
    SubscriptionGrant.objects.filter(customer_id=subject.customer_id).delete()


def _consents(subject: DataSubject) -> list[dict]:
    """What the customer agreed to, and when: subscribe messages per template, the phone
    number, following the official account."""
    customer = Customer.objects.get(pk=subject.customer_id)
    consents = [
        {"kind": "subscribe_message", "subject": g.template_id, "answer": g.last_result, "at": _iso(g.updated_at)}
        for g in SubscriptionGrant.objects.filter(customer_id=subject.customer_id).order_by("template_id")
    ]
    consents.append({"kind": "phone_number", "subject": "", "answer": "accept" if customer.phone_hash else "",
                     "at": None})
    try:
        follower_model = apps.get_model("officialaccount", "Follower")
    except LookupError:
        return consents
    for follower in follower_model.objects.filter(openid__in=subject.follower_openids).order_by("id"):
        consents.append({"kind": "follow_official_account", "subject": follower.openid,
                         "answer": "accept" if follower.is_subscribed else "reject",
                         "at": _iso(follower.subscribed_at if follower.is_subscribed else follower.unsubscribed_at)})
    return consents


section_register("profile", export=_profile, order=10)
section_register("subscriptions", export=_subscriptions, erase=_subscriptions_erase, order=50)
section_register("consents", export=_consents, order=60)
