"""Create the demo admin if missing and print its login. Never with debug off.

An existing user of that name is left exactly as it is (password, rights): `make run` runs
this against whatever DATABASE_URL the shell holds, which may be a real database."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"
PASSWORD = "wxbackend-demo"


class Command(BaseCommand):
    help = "Create the demo admin (debug only) if missing and print its login."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo admin is never created with DJANGO_DEBUG off.")
        User = get_user_model()
        if not User.objects.filter(username=USERNAME).exists():
            User.objects.create_superuser(USERNAME, "", PASSWORD)
        elif not User.objects.get(username=USERNAME).check_password(PASSWORD):
            self.stdout.write(f"User {USERNAME} already exists with its own password; left unchanged.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin: http://127.0.0.1:8000/admin/  user {USERNAME}  password {PASSWORD}"
            )
        )
