"""API conventions shared by every app: domain errors, the one exception handler, paging
and throttles. Every error leaves as a 4xx `{"code", "detail"}`; validation errors add
per-field `errors`."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A business rule refused the request. Subclasses set a stable `code` and `status`."""

    code = "error"
    status = 400
    default_detail = "The request could not be completed."

    def __init__(self, detail: str | None = None, **context):
        self.detail = detail or self.default_detail
        self.context = context
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_detail = "Not found."


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    default_detail = "The request body is larger than the server accepts."


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    default_detail = "A service this request needs is unavailable; try again shortly."


# DRF's own exceptions, by class, to our stable codes (most specific first).
_DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf.ParseError, "parse_error"),
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "throttled"),
    (drf.ValidationError, "invalid"),
]


def _code_for(exc: Exception) -> str:
    for cls, code in _DRF_CODES:
        if isinstance(exc, cls):
            return code
    return "error"


def exception_handler(exc, context):
    """Map domain errors, DRF errors and Django's 404/403 to `{"code", "detail"}`."""
    if isinstance(exc, RequestDataTooBig):  # past DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = PayloadTooLarge()
    if isinstance(exc, DomainError):
        response = Response({"code": exc.code, "detail": str(exc.detail)}, status=exc.status)
        if exc.status == 429 and exc.context.get("retry_after"):
            response["Retry-After"] = str(exc.context["retry_after"])
        return response
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = _code_for(exc)
    if isinstance(exc, drf.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": code, "detail": "Invalid input.", "errors": errors}
    else:
        detail = exc.detail if isinstance(exc, drf.APIException) else str(exc)
        response.data = {"code": code, "detail": str(detail)}
    return response


class Pagination(PageNumberPagination):
    """`{"count", "next", "previous", "results"}` with `?page=` and `?page_size=` (≤ 100)."""

    page_size_query_param = "page_size"
    max_page_size = 100


class AddressRateThrottle(SimpleRateThrottle):
    """A throttle keyed by the client's address: the peer's, or behind `NUM_PROXIES` trusted
    proxies the address they appended to X-Forwarded-For (settings: DJANGO_NUM_PROXIES)."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginRateThrottle(AddressRateThrottle):
    """Throttle for the login endpoint, keyed by client address (rate `login`).

    Throttles keep WeChat's per-user quota (jscode2session: 100/min) from being burnt by one
    client; they are not a security control."""

    scope = "login"


class CatalogRateThrottle(AddressRateThrottle):
    """Per-address throttle for the public catalog (rate `catalog`).

    It runs only when a request reaches DRF, i.e. when no cached body answered it: a page
    not yet cached costs queries and stores a body, and each distinct query string is one."""

    scope = "catalog"


class CustomerRateThrottle(UserRateThrottle):
    """Per-customer throttle for authenticated endpoints (rate `customer`)."""

    scope = "customer"
