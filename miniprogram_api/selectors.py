"""Customer reads: the linked official-account follower and the personal-data export."""

from django.apps import apps

from miniprogram_api.models import Customer


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
    """Everything we hold about the customer (and the follower of the same unionid), as
    JSON-ready data by section (`wxbackend.privacy`: each app registers its own). The
    session_key is left out: it is WeChat's secret for the session, not data the customer
    gave us."""
    from wxbackend.privacy import data_subject, personal_data_export

    return personal_data_export(data_subject(customer))
