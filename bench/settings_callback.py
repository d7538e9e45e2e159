"""Bench-only settings: the project's, with bench/urls_callback.py as the URLconf."""

from wxbackend.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_callback"
