"""Bearer-token authentication for the mini-program API.

`Authorization: Bearer <token>`: the token's sha256 is looked up with its customer in one
indexed query. Expired, revoked or unknown tokens fail with 401; revocation (logout,
erasure) takes effect on the very next request, since nothing caches the lookup.
"""

import hashlib

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2 or len(parts[1]) > 200:
            raise exceptions.NotAuthenticated("Malformed Authorization header.")
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.NotAuthenticated("Malformed Authorization header.")
        from miniprogram_api.models import ApiToken

        row = (
            ApiToken.objects.select_related("customer")
            .filter(key_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if row is None or row.customer.erased_at is not None:
            # NotAuthenticated, not AuthenticationFailed: the contract's code for "no or
            # expired token" is `not_authenticated`, and the client's answer is the same.
            raise exceptions.NotAuthenticated("The token is invalid, expired or revoked; log in again.")
        return row.customer, row

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
