"""Customer reads: the linked official-account follower and the personal-data export."""

from django.apps import apps

from miniprogram_api.models import Customer, SubscriptionGrant


def customer_follower(*, customer: Customer):
    """The official-account follower with the customer's unionid, or None (no FK: the two
    apps are linked by unionid only)."""
    if not customer.unionid:
        return None
    try:
        follower_model = apps.get_model("officialaccount", "Follower")
    except LookupError:
        return None
    return follower_model.objects.filter(unionid=customer.unionid).order_by("-id").first()


def customer_export(*, customer: Customer) -> dict:
    """Everything we hold about the customer, as JSON-ready data (the session_key excepted:
    it is WeChat's secret for the session, not personal data the customer gave us)."""
    from orders.selectors import address_list, cart_item_list

    follower = customer_follower(customer=customer)
    return {
        "profile": {
            "id": customer.pk,
            "openid": customer.openid,
            "unionid": customer.unionid,
            "nickname": customer.nickname,
            "avatar_url": customer.avatar_url,
            "gender": customer.gender,
            "phone": customer.phone,
            "phone_country_code": customer.phone_country_code,
            "created_at": customer.created_at.isoformat(),
            "last_login_at": customer.last_login_at.isoformat() if customer.last_login_at else None,
        },
        "official_account": {"openid": follower.openid} if follower else None,
        "addresses": [
            {
                "id": a.pk, "user_name": a.user_name, "tel_number": a.tel_number,
                "province_name": a.province_name, "city_name": a.city_name,
                "county_name": a.county_name, "detail_info": a.detail_info,
                "postal_code": a.postal_code, "national_code": a.national_code,
                "is_default": a.is_default,
            }
            for a in address_list(customer_id=customer.pk)
        ],
        "cart_items": [
            {"id": i.pk, "sku_id": i.sku_id, "quantity": i.quantity, "title": i.sku.product.title}
            for i in cart_item_list(customer_id=customer.pk)
        ],
        "subscriptions": [
            {"template_id": g.template_id, "available": g.available, "last_result": g.last_result}
            for g in SubscriptionGrant.objects.filter(customer=customer).order_by("template_id")
        ],
    }
