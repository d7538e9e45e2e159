from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MiniprogramApiConfig(AppConfig):
    name = "miniprogram_api"
    verbose_name = _("Mini-program customers")

    def ready(self) -> None:
        from miniprogram_api import schema  # noqa: F401  (registers the auth scheme)
