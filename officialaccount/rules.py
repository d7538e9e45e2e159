"""Auto-reply rules held in process memory, keyed by a version number in the shared cache.

Every rule or settings change bumps the version (after commit); each process rechecks the
version at most once a second and reloads when it moved, so the callback's hot path makes no
rule query. Regex rules run on RE2, whose matching time is linear in the input: Python's
`re` backtracks exponentially on patterns like `(a|a?)+b` while holding the GIL, so one
message could stall every thread of a worker. Patterns RE2 cannot take (back-references,
look-arounds) are refused when the rule is saved.
"""

import datetime
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import re2
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from officialaccount.replies import Article, MiniProgramCard, Reply

logger = logging.getLogger(__name__)

VERSION_KEY = "officialaccount:rules-version"
RECHECK_SECONDS = 1.0
MAX_PATTERN_CHARS = 200
MAX_MATCHED_CHARS = 300
SHANGHAI = ZoneInfo("Asia/Shanghai")

_REGEX_OPTIONS = re2.Options()
_REGEX_OPTIONS.case_sensitive = False
_REGEX_OPTIONS.never_capture = True  # we only ask whether it matches
_REGEX_OPTIONS.log_errors = False  # a refused pattern is told to the merchant, not to stderr


def regex_compile(pattern: str):
    """The case-insensitive RE2 program of a keyword rule; raises re2.error."""
    return re2.compile(pattern, _REGEX_OPTIONS)


def regex_problem(pattern: str) -> str:
    """Why `pattern` may not be used as a keyword rule, or "" when it may."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"正则最长 {MAX_PATTERN_CHARS} 个字符。"
    try:
        regex_compile(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        return f"无效或不支持的正则（不支持反向引用、环视）：{reason}"
    return ""


@dataclass(frozen=True)
class CompiledRule:
    id: int
    match: str
    keyword: str
    pattern: object | None  # an RE2 program
    reply: Reply


@dataclass
class RuleSet:
    version: str
    keyword_rules: tuple[CompiledRule, ...] = ()
    welcome: Reply | None = None
    clicks: dict[str, Reply] = field(default_factory=dict)
    scans: dict[str, Reply] = field(default_factory=dict)
    default_text: str = ""
    out_of_hours_enabled: bool = False
    service_start: datetime.time = datetime.time(9, 0)
    service_end: datetime.time = datetime.time(21, 0)
    out_of_hours_text: str = ""
    match_products: bool = True

    def keyword_reply(self, content: str) -> Reply | None:
        text = content.strip()
        folded = text.casefold()
        for rule in self.keyword_rules:
            if rule.match == "exact":
                if folded == rule.keyword:
                    return rule.reply
            elif rule.match == "contains":
                if rule.keyword in folded:
                    return rule.reply
            elif rule.pattern is not None and rule.pattern.search(text[:MAX_MATCHED_CHARS]):
                return rule.reply
        return None

    def is_out_of_hours(self, at: datetime.datetime) -> bool:
        if not self.out_of_hours_enabled:
            return False
        local = at.astimezone(SHANGHAI).time()
        start, end = self.service_start, self.service_end
        if start <= end:
            return not (start <= local < end)
        return end <= local < start  # service hours span midnight


def _reply_from_rule(rule) -> Reply:
    if rule.reply_kind == "text":
        return Reply(kind="text", text=rule.text)
    if rule.reply_kind == "image":
        return Reply(kind="image", media_id=rule.media_id)
    if rule.reply_kind == "news":
        articles = tuple(
            Article(title=a.title, description=a.description, pic_url=a.pic_url, url=a.url)
            for a in rule.articles.all()
        )
        return Reply(kind="news", articles=articles)
    card = MiniProgramCard(
        title=rule.mp_title,
        appid=rule.mp_appid or settings.WECHAT_MINIAPP_APPID,
        pagepath=rule.mp_pagepath,
        thumb_media_id=rule.mp_thumb_media_id,
    )
    return Reply(kind="miniprogram", card=card)


def _load(version: str) -> RuleSet:
    from officialaccount.models import AutoReplySettings, ReplyRule

    ruleset = RuleSet(version=version)
    keyword_rules = []
    for rule in ReplyRule.objects.filter(is_active=True).prefetch_related("articles").order_by("-priority", "id"):
        reply = _reply_from_rule(rule)
        if rule.trigger == "keyword":
            pattern = None
            if rule.match == "regex":
                if regex_problem(rule.keyword):
                    continue
                pattern = regex_compile(rule.keyword)
            keyword_rules.append(
                CompiledRule(id=rule.id, match=rule.match, keyword=rule.keyword.strip().casefold(),
                             pattern=pattern, reply=reply)
            )
        elif rule.trigger == "subscribe":
            ruleset.welcome = ruleset.welcome or reply
        elif rule.trigger == "click":
            ruleset.clicks.setdefault(rule.keyword, reply)
        elif rule.trigger == "scan":
            ruleset.scans.setdefault(rule.keyword, reply)
    ruleset.keyword_rules = tuple(keyword_rules)
    options = AutoReplySettings.objects.filter(pk=1).first()
    if options is not None:
        ruleset.default_text = options.default_reply_text
        ruleset.out_of_hours_enabled = options.out_of_hours_enabled
        ruleset.service_start = options.service_start
        ruleset.service_end = options.service_end
        ruleset.out_of_hours_text = options.out_of_hours_text
        ruleset.match_products = options.match_products
    return ruleset


_lock = threading.Lock()
_state: dict = {"ruleset": None, "checked_at": 0.0}


def _shared_version() -> str | None:
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)
        return version
    except Exception:  # the cache is down: keep answering from what we have
        logger.warning("rules version unavailable from the cache")
        return None


def ruleset() -> RuleSet:
    """The current rules: from memory, reloaded when the shared version moved."""
    now = time.monotonic()
    current = _state["ruleset"]
    if current is not None and now - _state["checked_at"] < RECHECK_SECONDS:
        return current
    with _lock:
        current = _state["ruleset"]
        version = _shared_version()
        if current is None or (version is not None and version != current.version):
            current = _load(version or "unversioned")
        _state["ruleset"], _state["checked_at"] = current, now
        return current


def reset_local() -> None:
    """Forget this process's copy (the next call reloads)."""
    _state["ruleset"], _state["checked_at"] = None, 0.0


def _bump() -> None:
    try:
        cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    finally:
        reset_local()


def rules_changed(**_kwargs) -> None:
    """Signal receiver: bump the shared version once the change is committed."""
    transaction.on_commit(_bump)
