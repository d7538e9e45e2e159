"""What the API views share: error shapes for the schema, paginated schemas, and the
catalog response cache."""

import hashlib
import json
from functools import cache as memoize
from functools import cached_property, partial
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotModified, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from catalog.cache import catalog_version
from wxbackend.api import CatalogRateThrottle, Pagination


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictRegexField(serializers.RegexField):
    """A RegexField that refuses numbers instead of matching their text (510000 is not "510000")."""

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An IntegerField that takes JSON integers only: not "3", not 3.0, not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A BooleanField that takes JSON true and false only: not 0, not "yes"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SkuAttributesField(serializers.DictField):
    """A SKU's attributes, `{"颜色": "红"}`. A row written past Sku.clean (a shell, a raw
    import) that holds no object reads as `{}` rather than breaking the page."""

    child = serializers.CharField()

    def to_representation(self, value):
        return super().to_representation(value if isinstance(value, dict) else {})


# --- Errors, as the schema shows them ------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. `not_found`.")
    detail = serializers.CharField(help_text="Human-readable text.")


@extend_schema_field({
    "type": "object",
    "additionalProperties": {"oneOf": [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object", "description": "Errors of a list's items or a dict's values, by index or key."},
    ]},
})
class _FieldErrorsField(serializers.DictField):
    pass


class ValidationErrorSerializer(ErrorSerializer):
    # Only `invalid` carries `errors`; `parse_error` and domain codes answer with the same
    # status and no `errors`.
    errors = _FieldErrorsField(
        required=False,
        help_text="With `invalid` only: messages per field (`non_field_errors` for the whole "
        "body; an object for a list's items or a dict's values).",
    )


_ERRORS = {
    "parse_error": (400, "JSON parse error - Expecting value: line 1 column 1 (char 0)"),
    "not_authenticated": (401, "The token is invalid, expired or revoked; log in again."),
    "not_found": (404, "Not found."),
    "throttled": (429, "Request was throttled. Expected available in 60 seconds."),
}


def error(status: int, *codes: str, description: str = "") -> OpenApiResponse:
    """A schema response for an error status with one example per stable code."""
    examples = []
    for code in codes:
        detail = _ERRORS.get(code, (status, code.replace("_", " ").capitalize() + "."))[1]
        examples.append(OpenApiExample(code, value={"code": code, "detail": detail}, status_codes=[str(status)]))
    return OpenApiResponse(ErrorSerializer, description=description or ", ".join(f"`{c}`" for c in codes),
                           examples=examples)


def invalid(*fields_and_messages: tuple[str, str], extra_codes: tuple[str, ...] = ()) -> OpenApiResponse:
    """400: `parse_error` for malformed JSON, `invalid` with per-field errors, and any
    domain codes."""
    examples = [
        OpenApiExample("parse_error", value={"code": "parse_error", "detail": _ERRORS["parse_error"][1]},
                       status_codes=["400"]),
    ]
    if fields_and_messages:
        examples.append(OpenApiExample(
            "invalid",
            value={"code": "invalid", "detail": "Invalid input.",
                   "errors": {f: [m] for f, m in fields_and_messages}},
            status_codes=["400"],
        ))
    for code in extra_codes:
        examples.append(OpenApiExample(code, value={"code": code, "detail": code.replace("_", " ").capitalize() + "."},
                                       status_codes=["400"]))
    codes = ["parse_error", "invalid", *extra_codes] if fields_and_messages else ["parse_error", *extra_codes]
    return OpenApiResponse(ValidationErrorSerializer, description=", ".join(f"`{c}`" for c in codes),
                           examples=examples)


# Every endpoint behind a token: 401 without a valid one, 429 past the per-customer rate.
UNAUTHENTICATED = {
    401: error(401, "not_authenticated", description="No, expired or revoked token."),
    429: error(429, "throttled", description="Too many requests from this customer."),
}
# Every endpoint that reads a JSON body.
BODY_ERRORS = {
    413: error(413, "payload_too_large", description="The body is over the server's limit (5 MB)."),
    415: error(415, "unsupported_media_type", description="The body is not `application/json`."),
}
NOT_MODIFIED = OpenApiResponse(description="The `If-None-Match` ETag is current: no body.")
NOT_FOUND = {404: error(404, "not_found", description="No such object, or another customer's.")}


@memoize
def paginated(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The schema of a page: `{"count", "next", "previous", "results": [item]}`."""
    return type(name, (serializers.Serializer,), {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
        "__module__": __name__,
    })


# --- The catalog response cache --------------------------------------------------------------

CACHE_SECONDS = 3600
CACHE_CONTROL = "public, max-age=0, must-revalidate"
LOCAL_MAX_ENTRIES = 1024


class _LocalBodies:
    """This process's copy of recent cached bodies, all of one catalog version: the shared
    cache stays the truth, this only saves its round trip. Any other version empties it."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.entries: dict[str, tuple[bytes, str]] = {}

    def get(self, version: int, key: str):
        if version != self.version:
            return None
        return self.entries.get(key)

    def put(self, version: int, key: str, value: tuple[bytes, str]) -> None:
        if version != self.version or len(self.entries) >= LOCAL_MAX_ENTRIES:
            self.version, self.entries = version, {}
        self.entries[key] = value


_local = _LocalBodies()


class CatalogCachedApi(APIView):
    """A public catalog read whose whole response body is cached per catalog version.

    On a hit the body is answered before DRF starts: two cache round trips (version, body).
    The key holds the versions read *before* the body was built (the content version, and
    the product's stock version for a body that shows stock), the scheme and host (URLs in
    the body are absolute) and the normalized allowed query parameters, so a write anywhere
    in the catalog (which bumps a version) is visible on the next request.
    The ETag is a hash of the body; If-None-Match answers 304."""

    # Public: the catalog is the shop window, shown before login.
    permission_classes = [AllowAny]
    # No authentication either: the body must not depend on who asks, or the cache would leak.
    authentication_classes: list = []
    # Checked on misses only: hits are answered in dispatch, before DRF's checks run.
    throttle_classes = [CatalogRateThrottle]
    cache_params: tuple[str, ...] = ()

    def cache_query(self, request) -> list[tuple[str, str]]:
        """The query parameters the cached body may depend on, normalized (the key holds them)."""
        return sorted((k, request.GET.get(k, "").strip()) for k in self.cache_params if k in request.GET)

    def cache_versions(self, kwargs) -> tuple[int, int | None]:
        """The catalog content version and, for a body that shows stock, its stock version
        (read in one round trip)."""
        return catalog_version(), None

    def _cache_key(self, request, kwargs, version: int, stock_version: int | None) -> str:
        params = self.cache_query(request)
        raw = json.dumps([request.scheme, request.get_host(), request.path, params, sorted(kwargs.items()),
                          stock_version])
        return f"catalog:resp:{version}:{hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()}"

    def dispatch(self, request, *args, **kwargs):
        self._response_cache = None
        if request.method in ("GET", "HEAD"):
            version, stock_version = self.cache_versions(kwargs)
            key = self._cache_key(request, kwargs, version, stock_version)
            hit = _local.get(version, key)
            if hit is None:
                hit = cache.get(key)
                if hit is not None:
                    _local.put(version, key, hit)
            if hit is not None:
                return _answer(request, *hit)
            self._response_cache = (version, key)
        return super().dispatch(request, *args, **kwargs)

    def derived_cache_key(self, kind: str, params) -> str | None:
        """A cache key for something the body is built from (a count), under the same
        version as the body; None when the body is not cached."""
        if not self._response_cache:
            return None
        raw = json.dumps([self.request.path, params])
        return f"catalog:{kind}:{self._response_cache[0]}:{hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()}"

    def cached_response(self, data) -> HttpResponse:
        """Render `data`, remember the body under the key found in dispatch, answer it."""
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        if self._response_cache:
            version, key = self._response_cache
            cache.set(key, (body, etag), timeout=CACHE_SECONDS)
            _local.put(version, key, (body, etag))
        return _answer(self.request, body, etag)


class _CountCachedPaginator(Paginator):
    """Counts a filter's rows once per catalog version, not once per page: every page and
    ordering of one filter shares the count, and a large catalog is not counted again for
    each page a customer scrolls to."""

    def __init__(self, *args, count_key: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_key = count_key

    @cached_property
    def count(self) -> int:
        if self.count_key is None:
            return super().count
        count = cache.get(self.count_key)
        if count is None:
            count = super().count
            cache.set(self.count_key, count, timeout=CACHE_SECONDS)
        return count


class CatalogPagination(Pagination):
    """Page links built from the cache key's parameters only, never from the request's whole
    query string: a cached page is served to everyone, so it must not carry one client's
    stray parameters (`?utm=...`) to the next. `count_params` names the parameters the
    count depends on (the filters, not the page or the ordering)."""

    def __init__(self, *, query: list[tuple[str, str]], view: "CatalogCachedApi | None" = None,
                 count_params: tuple[str, ...] = ()):
        self.query = query
        count_key = view.derived_cache_key("count", [(k, v) for k, v in query if k in count_params]) if view else None
        self.django_paginator_class = partial(_CountCachedPaginator, count_key=count_key)

    def _url(self) -> str:
        url = self.request.build_absolute_uri(self.request.path)
        return f"{url}?{urlencode(self.query)}" if self.query else url

    def get_next_link(self):
        if not self.page.has_next():
            return None
        return replace_query_param(self._url(), self.page_query_param, self.page.next_page_number())

    def get_previous_link(self):
        if not self.page.has_previous():
            return None
        number = self.page.previous_page_number()
        if number == 1:
            return remove_query_param(self._url(), self.page_query_param)
        return replace_query_param(self._url(), self.page_query_param, number)


def _answer(request, body: bytes, etag: str) -> HttpResponse:
    match = request.META.get("HTTP_IF_NONE_MATCH", "")
    if match and (match.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in match.split(",")]):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    return response


# --- Paths that name no endpoint ---------------------------------------------------------------


@csrf_exempt  # answers 404 to every method; there is nothing to protect
def unknown_path(request, rest: str = ""):
    """Any other path under /api/v1/ (`/products/abc/`, `/cart/items` without its slash):
    a JSON 404 in every mode, where Django would answer its HTML debug page, or for a
    write without the slash a 500 (APPEND_SLASH cannot redirect a body). A GET missing
    the slash is still redirected."""
    has_slash = request.path_info.endswith("/")
    other = request.path_info[:-1] if has_slash else request.path_info + "/"
    try:
        known = resolve(other).func is not unknown_path
    except Resolver404:
        known = False
    if not known:
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    if not has_slash and request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    meant = request.path[:-1] if has_slash else request.path + "/"
    return JsonResponse({"code": "not_found", "detail": f"Not found. Did you mean {meant}?"}, status=404)
