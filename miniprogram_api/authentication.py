"""Bearer-token authentication for the mini-program API.

The token model arrives with the login work (issue 5); until then no token is valid, and
every protected endpoint answers 401 `not_authenticated`.
"""

from rest_framework.authentication import BaseAuthentication, get_authorization_header


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
