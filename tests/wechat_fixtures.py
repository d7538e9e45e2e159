"""Fixtures that serve the WeChat simulator over real HTTP (filled by the client-layer work)."""
