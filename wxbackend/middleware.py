"""One structured log line per request: method, path (never the query string, which
carries WeChat signatures), status and duration.

It also serves *lean* endpoints (views marked with `lean_endpoint`, e.g. the official-account
callback, which WeChat's servers call hundreds of times a second) without the rest of the
middleware stack: no session, user, messages, locale or CSRF work that such a view never
uses. What still applies to them is what protects any response: the Host check
(ALLOWED_HOSTS), SecurityMiddleware (SSL redirect, nosniff, referrer policy, HSTS, COOP),
X-Frame-Options, Content-Length, and the usual conversion of an exception to a 4xx/500.
"""

import logging
import time

from django.core.handlers.exception import response_for_exception
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RoutePattern

logger = logging.getLogger("wxbackend.request")


def lean_endpoint(view):
    """Mark a view as served without sessions, auth, messages, locale and CSRF middleware.

    Only for views that use none of them (no `request.session`, `request.user`, messages,
    translations that depend on the request's language) and are CSRF-exempt by nature
    (signed server-to-server calls). Only routes without converters are served lean."""
    view.lean_endpoint = True
    return view


def _lean_routes() -> dict:
    """Exact path -> ResolverMatch of every lean view under a converter-free route."""
    found: dict = {}

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            pattern = entry.pattern
            if not isinstance(pattern, RoutePattern) or pattern.converters:
                continue
            route = prefix + str(pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and getattr(entry.callback, "lean_endpoint", False):
                path = "/" + route
                try:
                    match = resolve(path)
                except Resolver404:
                    continue
                if match.func is entry.callback:  # not shadowed by an earlier pattern
                    found[path] = match

    walk(get_resolver().url_patterns, "")
    return found


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._lean: dict | None = None
        self._security = SecurityMiddleware(get_response)
        self._xframe = XFrameOptionsMiddleware(get_response)

    def __call__(self, request):
        started = time.perf_counter()
        if self._lean is None:
            self._lean = _lean_routes()
        match = self._lean.get(request.path_info)
        response = self.get_response(request) if match is None else self._serve_lean(request, match)
        logger.info(
            "request",
            extra={
                "event": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                }
            },
        )
        return response

    def _serve_lean(self, request, match):
        try:
            request.get_host()  # DisallowedHost -> 400, as CommonMiddleware would
            response = self._security.process_request(request)  # SSL redirect
            if response is None:
                request.resolver_match = match
                response = match.func(request, *match.args, **match.kwargs)
        except Exception as exc:  # noqa: BLE001 - the same conversion Django applies around middleware
            response = response_for_exception(request, exc)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        response = self._security.process_response(request, response)
        return self._xframe.process_response(request, response)


class ContentSecurityPolicyMiddleware:
    """Every page of ours loads scripts, styles, fonts and images from our own origin only
    (plus the media bucket's, when images live there): a page that reached for a CDN breaks
    in mainland China and offline, and the header makes the browser refuse it outright.

    No inline script on any page (the admin, the docs and the simulator's console load
    theirs from files); inline styles are allowed (the admin, Swagger UI and Redoc set style
    attributes). A response that set its own policy keeps it."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        directives = {
            "default-src": "'self'",
            "script-src": "'self'",
            # Inline event handlers: only this one, by its hash (django-import-export's export
            # page binds its "select all" toggle with onchange="onSelectToggleChange(event)").
            "script-src-attr": "'unsafe-hashes' 'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='",
            "style-src": "'self' 'unsafe-inline'",
            "img-src": " ".join(filter(None, ["'self' data: blob:", settings.MEDIA_ORIGIN])),
            "font-src": "'self' data:",
            "connect-src": "'self'",
            "worker-src": "'self' blob:",  # Redoc's search runs in a worker made from a blob
            "object-src": "'none'",
            "base-uri": "'self'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        }
        self.policy = "; ".join(f"{name} {value}" for name, value in directives.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
