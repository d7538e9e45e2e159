"""Create throw-away RSA keys for WeChat Pay v3 in development (debug only, idempotent).

The merchant key signs our requests; the "WeChat Pay" key is the simulator's, whose public
half the project uses to verify answers and notifications, as with a real PUB_KEY_ID_ key.
"""

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def _write_private(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


class Command(BaseCommand):
    help = "Create development keys for WeChat Pay v3 and the simulator (debug only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Development keys are never created with DJANGO_DEBUG off.")
        _write_private(Path(settings.WECHAT_PAY_MCH_PRIVATE_KEY_PATH))
        wechat_key = _write_private(Path(settings.WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH))
        public = Path(settings.WECHAT_PAY_PUBLIC_KEY_PATH)
        public.write_bytes(
            wechat_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.stdout.write(f"Development pay keys in {public.parent}")
