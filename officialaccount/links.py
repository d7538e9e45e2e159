"""Links from the official account into the mini-program's product page.

A product reply's article opens `/wechat/mp/product/<id>/` (views.product_link), which
redirects to a URL link from `wxa/generate_urllink` (https://wxaurl.cn/…, needs no console
setting and opens the mini-program from any WeChat page). Links are cached per product until
a day before they expire, so a link is generated once a month per product, not per click. When
WeChat refuses or does not answer, the redirect falls back to the `weixin://dl/business/`
scheme. The callback reads only the cache (no WeChat call inside the 5-second reply): with a
link cached, the article points at it directly.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

from officialaccount import gateway
from wxbackend.wechat import WeChatError

logger = logging.getLogger(__name__)

PRODUCT_PAGE = "pages/product/detail"
REFRESH_BEFORE_SECONDS = 86400  # stop handing a link out a day before WeChat expires it


def _key(product_id: int) -> str:
    # Per mini-program: a new appid must not reuse the old app's links.
    return f"oa:urllink:{settings.WECHAT_MINIAPP_APPID}:{int(product_id)}"


def product_url_link_cached(product_id: int) -> str | None:
    """The product's cached URL link, or None (never calls WeChat; the cache failing is a miss)."""
    try:
        return cache.get(_key(product_id))
    except Exception:
        return None


def product_url_link(product_id: int) -> str | None:
    """The product's URL link: cached, else generated now and cached; None when WeChat
    refused or could not be reached (the caller falls back)."""
    found = product_url_link_cached(product_id)
    if found:
        return found
    now = int(time.time())
    try:
        link = gateway.url_link_generate(path=PRODUCT_PAGE, query=f"id={int(product_id)}", now=now)
    except WeChatError as exc:
        logger.warning("url link unavailable", extra={"event": {"product": product_id, "errcode": exc.errcode}})
        return None
    ttl = link.expires_at - now - REFRESH_BEFORE_SECONDS
    if ttl > 0:
        try:
            cache.set(_key(product_id), link.url, timeout=ttl)
        except Exception:
            logger.warning("url link not cached", extra={"event": {"product": product_id}})
    return link.url
