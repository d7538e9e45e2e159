"""/__sim__/api/<path>: the simulated api.weixin.qq.com, one route per WeChat path.

Unknown paths still reach the view, which records them and answers 404 / 40066.
"""

from django.urls import path, re_path

from wechat_simulator import (  # noqa: F401  (register)
    mp,
    mp_links,
    mp_login,
    mp_media,
    mp_menu,
    mp_messages,
    mp_shipping,
    mp_tags,
    mp_tokens,
    mp_users,
)

urlpatterns = [
    *(path(route, mp.api_view, {"route": route}) for route in sorted(mp.ROUTES)),
    re_path(r"^(?P<route>.*)$", mp.api_view),
]
