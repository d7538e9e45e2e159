"""Bench-only URLconf: the project's URLs plus the bare baseline callback."""

from django.urls import path

from bench.baseline_callback import bare_callback
from wxbackend.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("bench/bare-callback/", bare_callback), *project_urlpatterns]
