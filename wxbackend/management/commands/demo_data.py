"""Load the demo data, idempotently: every app may have a `demo.py` with `load(stdout)`."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

# Apps load in this order so that later ones can refer to earlier ones' rows.
ORDER = ["catalog", "officialaccount", "notifications", "orders", "payments", "miniprogram_api"]


class Command(BaseCommand):
    help = "Load the demo catalog, auto-replies and notification templates (idempotent)."

    def handle(self, *args, **options):
        names = [c.name for c in apps.get_app_configs()]
        ordered = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
        for name in ordered:
            if find_spec(name) is None or find_spec(f"{name}.demo") is None:
                continue
            with transaction.atomic():
                import_module(f"{name}.demo").load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
