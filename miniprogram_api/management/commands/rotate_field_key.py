"""Re-encrypt every encrypted column with the first FIELD_ENCRYPTION_KEY.

Rotation: put the new key first (`FIELD_ENCRYPTION_KEY=<new>,<old>`), deploy, run this,
then drop the old key. Safe to run again, and while the app serves."""

from django.core.management.base import BaseCommand

from miniprogram_api.services import customer_phone_hashes_refresh, encrypted_fields_rotate


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields with the first FIELD_ENCRYPTION_KEY and report counts."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        unreadable = 0
        for result in encrypted_fields_rotate(batch_size=batch_size):
            unreadable += result.unreadable
            self.stdout.write(
                f"{result.label}: {result.reencrypted} re-encrypted, {result.current} already current, "
                f"{result.unreadable} unreadable"
            )
        changed = customer_phone_hashes_refresh(batch_size=batch_size)
        self.stdout.write(f"miniprogram_api.Customer.phone_hash: {changed} recomputed")
        if unreadable:
            self.stderr.write(
                f"{unreadable} values open with no configured key: keep the key they were written "
                "with in FIELD_ENCRYPTION_KEY, or the customers re-enter them."
            )
