"""Create the demo admin if missing and print its login. Never with debug off."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = "admin"
PASSWORD = "wxbackend-demo"


class Command(BaseCommand):
    help = "Create the demo admin (debug only) and print its login."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo admin is never created with DJANGO_DEBUG off.")
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.is_staff = user.is_superuser = user.is_active = True
            user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo admin: http://127.0.0.1:8000/admin/  user {USERNAME}  password {PASSWORD}"
            )
        )
