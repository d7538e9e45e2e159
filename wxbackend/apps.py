from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class WxbackendConfig(AppConfig):
    name = "wxbackend"
    verbose_name = _("System")

    def ready(self) -> None:
        from wxbackend.roles import roles_post_migrate

        # After every migrate (and a test database's flush), so apps added later get their
        # permissions into the role groups without a new data migration.
        post_migrate.connect(roles_post_migrate, sender=self, dispatch_uid="wxbackend.roles")
