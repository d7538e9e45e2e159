from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WxbackendConfig(AppConfig):
    name = "wxbackend"
    verbose_name = _("System")
