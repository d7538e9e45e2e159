"""One gunicorn instance against two, sharing one PostgreSQL and one Redis (docs/scaling.md).

The same load (the bench's connections, split evenly) goes to the cached product list
through one instance (2 workers), then through two instances (2 workers each) at once, as
a load balancer would spread it; the second row is the sum of both. With every instance on
this one machine the second row cannot show more cores: it shows what more processes than
cores cost (on 2 cores "two over one" came out at 0.64-0.74), while on machines of their
own each instance adds its own row-one throughput as long as PostgreSQL and Redis keep up.
No target: the number depends on the machine's cores (see the notes column).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bench.bench_catalog import _seed
from bench.common import Context, Result, WrkResult

PATH = "/api/v1/products/"


def _combined(results: list[WrkResult]) -> WrkResult:
    """Several wrk runs at once, as one: summed traffic, the worst p50 and p99."""
    first = results[0]
    return WrkResult(
        url=" + ".join(r.url for r in results), method=first.method,
        requests=sum(r.requests for r in results), rps=round(sum(r.rps for r in results), 1),
        p50_ms=max(r.p50_ms for r in results), p99_ms=max(r.p99_ms for r in results),
        non_2xx=sum(r.non_2xx for r in results), socket_errors=sum(r.socket_errors for r in results),
        duration=first.duration, connections=sum(r.connections for r in results),
    )


def run(ctx: Context) -> list[Result]:
    ctx.django()
    _seed()
    connections = max(2, ctx.options.connections)
    threads = max(1, ctx.options.threads // 2)
    one = ctx.wrk(PATH, connections=connections)
    with ctx.server({}, name="second-instance") as second:
        ctx.wrk(second.url + PATH, duration="2s")  # warm the second instance's workers
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [pool.submit(ctx.wrk, url, connections=connections // 2, threads=threads)
                    for url in (ctx.url(PATH), second.url + PATH)]
            two = _combined([run.result() for run in runs])
    ratio = two.rps / one.rps if one.rps else 0.0
    return [
        ctx.result(f"GET {PATH} via 1 instance (2 workers)", one, notes=f"{connections} connections"),
        ctx.result(f"GET {PATH} via 2 instances (2+2)", two,
                   notes=f"{connections} connections split; two over one = {ratio:.2f} on this machine"),
    ]
