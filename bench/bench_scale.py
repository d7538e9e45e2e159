"""The catalog at scale (issue 14): the same work at 500 and at 100,000 products, in the same
run, as ratios of median latencies. Targets: product question <= 1.5x, list page <= 2x,
search <= 3x.

Two databases beside the bench database (`<name>_scale500`, `<name>_scale100000`), filled by
`manage.py catalog_generate` (the first run takes a minute; later runs reuse them), each
served by its own gunicorn (2 workers, its own cache prefix). Requests go one at a time,
alternating between the two catalogs round by round, so that a change in the machine's load
hits both alike; each row reports the median of the rounds' medians.

- product question: a plaintext text message `有没有大容量保温杯` to the official account,
  each with a new MsgId and nonce (a first delivery: matched, stored, answered);
- list page: `?ordering=-sales` with a page and page size no request used before, so the
  page body is never cached (the filter's count is, as it is once per catalog version);
- search: `?q=` 保温杯, 龙井, 不锈钢, 双肩包, 316不锈钢保温杯, likewise uncached pages.
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
import time
import urllib.request
from urllib.parse import quote, urlsplit, urlunsplit

from bench.common import Context, Result, ensure_database, manage

SIZES = (500, 100_000)
TARGETS = {"question": 1.5, "list": 2.0, "search": 3.0}
ROUNDS = 5
PER_ROUND = 30
QUESTION = "有没有大容量保温杯"
WORDS = ("保温杯", "龙井", "不锈钢", "双肩包", "316不锈钢保温杯")


def _database(base: str, size: int) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path}_scale{size}"))


def _get(url: str, *, data: bytes | None = None) -> tuple[float, bytes]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "text/xml"} if data else {})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (127.0.0.1 only)
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


class _Catalog:
    """One catalog size: its gunicorn and the request streams measured against it."""

    def __init__(self, ctx: Context, server, size: int):
        self.ctx, self.url, self.size = ctx, server.url, size
        self.msg_ids = itertools.count(time.time_ns() // 1000)
        # (page, page_size) pairs never asked before: each request builds its page.
        self.pages = itertools.cycle(itertools.product(range(1, 5), range(10, 51)))
        self.searches = {word: iter(range(10, 101)) for word in WORDS}

    def question(self) -> float:
        token = self.ctx.env["WECHAT_MP_TOKEN"]
        msg_id = next(self.msg_ids)
        timestamp, nonce = str(int(time.time())), str(msg_id)
        signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
        xml = (f"<xml><ToUserName><![CDATA[gh_bench000001]]></ToUserName>"
               f"<FromUserName><![CDATA[o_scale_{msg_id % 50}]]></FromUserName><CreateTime>{timestamp}</CreateTime>"
               f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{QUESTION}]]></Content>"
               f"<MsgId>{msg_id}</MsgId></xml>")
        query = f"?signature={signature}&timestamp={timestamp}&nonce={nonce}"
        ms, body = _get(f"{self.url}/wechat/mp/callback/{query}", data=xml.encode())
        assert "保温杯".encode() in body, body[:300]  # a product reply, not the default text
        return ms

    def list_page(self) -> float:
        page, size = next(self.pages)
        ms, body = _get(f"{self.url}/api/v1/products/?ordering=-sales&page={page}&page_size={size}")
        assert b'"results":[{' in body, body[:300]
        return ms

    def search(self, word: str) -> float:
        size = next(self.searches[word])
        ms, body = _get(f"{self.url}/api/v1/products/?q={quote(word)}&page_size={size}")
        assert b'"results":[{' in body, body[:300]
        return ms


def _prepare(ctx: Context, size: int) -> dict[str, str]:
    database = _database(ctx.database, size)
    env = {**ctx.env, "DATABASE_URL": database, "CACHE_KEY_PREFIX": f"wxbench-scale{size}"}
    ensure_database(database)
    manage(env, "migrate", "--noinput")
    manage(env, "catalog_generate", "--products", str(size), timeout=1800)
    return env


def run(ctx: Context) -> list[Result]:
    envs = {size: _prepare(ctx, size) for size in SIZES}
    medians: dict[str, dict[int, list[float]]] = {kind: {size: [] for size in SIZES} for kind in TARGETS}
    with ctx.server(envs[SIZES[0]], name="scale-small") as small, ctx.server(envs[SIZES[1]], name="scale-big") as big:
        catalogs = {SIZES[0]: _Catalog(ctx, small, SIZES[0]), SIZES[1]: _Catalog(ctx, big, SIZES[1])}
        for catalog in catalogs.values():  # warm-up: both workers build their match index
            for _ in range(20):
                catalog.question()
            for word in WORDS:
                catalog.search(word)  # the first search of a word counts its matches
            catalog.list_page()
        for _ in range(ROUNDS):
            for size, catalog in catalogs.items():
                medians["question"][size].append(statistics.median(catalog.question() for _ in range(PER_ROUND)))
                medians["list"][size].append(statistics.median(catalog.list_page() for _ in range(PER_ROUND)))
                medians["search"][size].append(statistics.median(
                    catalog.search(WORDS[n % len(WORDS)]) for n in range(PER_ROUND)))

    rows = []
    labels = {"question": f"scale: product question ({QUESTION})", "list": "scale: uncached list page ?ordering=-sales",
              "search": "scale: uncached search ?q=…"}
    for kind, target in TARGETS.items():
        small_ms, big_ms = (statistics.median(medians[kind][size]) for size in SIZES)
        ratio = round(big_ms / small_ms, 2) if small_ms else 0.0
        rows.append(Result(
            name=labels[kind], rps=round(1000 / big_ms, 1) if big_ms else 0.0, p99_ms=round(big_ms, 2),
            ratio=ratio, baseline=f"same request at {SIZES[0]} products", target=f"ratio <= {target}",
            ok=ratio <= target,
            notes=f"median {small_ms:.1f} ms at {SIZES[0]}, {big_ms:.1f} ms at {SIZES[1]} products; "
                  f"round medians {[round(m, 1) for m in medians[kind][SIZES[0]]]} / "
                  f"{[round(m, 1) for m in medians[kind][SIZES[1]]]}; ratio is latency (lower is better)",
            measured={"ms": {str(size): medians[kind][size] for size in SIZES}},
        ))
    return rows
