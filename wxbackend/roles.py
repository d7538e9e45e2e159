"""Staff roles: which admin groups exist and which model permissions each one holds.

A role names apps by label and, optionally, models by name, never permission rows: an app
added later (the inbox, for one) is covered by naming its label here, and its permissions
join the group on the next `migrate` (the post_migrate receiver in `wxbackend.apps`). A label
that is not installed is skipped, so a role may name an app before it exists.

The groups are declarative: `roles_sync` sets each group's permissions to exactly what is
declared here, so a permission taken away in code is taken away on deploy. Change roles here,
not in the admin's group page; other groups are left alone.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

ALL = ("add", "change", "delete", "view")
VIEW = ("view",)

# Customer service may see a customer's full phone number (unmasked, audited each time).
FULL_PHONE_PERMISSION = "miniprogram_api.view_full_phone"


@dataclass(frozen=True)
class Grant:
    """Permissions on `models` of `app_label` (every model of the app when empty)."""

    app_label: str
    actions: tuple[str, ...] = ALL
    models: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()  # custom codenames of the app (e.g. view_full_phone)


@dataclass(frozen=True)
class Role:
    code: str
    group_name: str  # the group's name in the admin (Chinese: the merchant's staff read it)
    description: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)


ROLES: tuple[Role, ...] = (
    Role(
        code="customer_service",
        group_name="客服",
        description=_("Customer service: followers and their conversations, customers (read), orders (read)"),
        grants=(
            Grant("officialaccount", ("view", "change"), ("follower",)),
            Grant("officialaccount", VIEW, ("message", "tag")),
            Grant("inbox"),  # the conversations app, whichever models it has
            Grant("miniprogram_api", VIEW, ("customer", "subscriptiongrant"), extra=("view_full_phone",)),
            Grant("orders", VIEW, ("order", "orderitem", "orderevent", "refundrequest")),
            Grant("notifications", VIEW),
        ),
    ),
    Role(
        code="operations",
        group_name="运营",
        description=_("Operations: catalog, auto-reply rules, menus, QR scenes, notice templates, shipping"),
        grants=(
            Grant("catalog"),
            Grant("officialaccount", ALL, ("replyrule", "replyarticle", "autoreplysettings", "menu",
                                           "menubutton", "qrscene")),
            Grant("officialaccount", ("view", "change"), ("tag",)),
            Grant("notifications"),
            Grant("orders", ("view", "change"), ("order", "shippingupload")),
            Grant("orders", VIEW, ("orderitem", "orderevent")),
        ),
    ),
    Role(
        code="finance",
        group_name="财务",
        description=_("Finance: payments, refunds and reconciliation"),
        grants=(
            Grant("payments"),
            Grant("orders", ("view", "change"), ("refundrequest",)),
            Grant("orders", VIEW, ("order", "orderitem", "orderevent")),
        ),
    ),
)


def role_permission_ids(role: Role, *, permissions) -> set[int]:
    """The ids of the permissions `role` declares that exist (`permissions`: a queryset of
    Permission)."""
    ids: set[int] = set()
    for grant in role.grants:
        mine = permissions.filter(content_type__app_label=grant.app_label)
        models = permissions.filter(content_type__app_label=grant.app_label)
        if grant.models:
            models = models.filter(content_type__model__in=grant.models)
        for pk, codename, model in models.values_list("pk", "codename", "content_type__model"):
            if any(codename == f"{action}_{model}" for action in grant.actions):
                ids.add(pk)
        if grant.extra:
            ids.update(mine.filter(codename__in=grant.extra).values_list("pk", flat=True))
    return ids


def roles_sync(*, apps=None, using: str = "default") -> dict[str, int]:
    """Create the role groups if missing and set each one's permissions to what `ROLES`
    declares; returns group name → permission count. `apps` is a migration's app registry
    (the global one by default)."""
    if apps is None:
        from django.apps import apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    counts = {}
    for role in ROLES:
        group, _created = group_model.objects.using(using).get_or_create(name=role.group_name)
        ids = role_permission_ids(role, permissions=permission_model.objects.using(using))
        group.permissions.set(ids)
        counts[role.group_name] = len(ids)
    return counts


def permissions_ensure(*, using: str = "default") -> None:
    """Create the content types and permissions of every installed app now (Django does it
    per app after migrate; the roles need them all at once)."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using, apps=apps)
        create_permissions(app_config, verbosity=0, using=using, apps=apps)


def roles_post_migrate(sender, using: str = "default", **_kwargs) -> None:
    """post_migrate receiver (sender: this app): every app's permissions, then the groups."""
    permissions_ensure(using=using)
    roles_sync(using=using)
