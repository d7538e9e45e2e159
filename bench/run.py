"""Run every bench/bench_*.py against gunicorn with debug off; print a table and write JSON
to bench/results/. `make bench BENCH_ARGS="-k catalog --duration 5s"`.

Each module exposes `run(ctx) -> list[Result]` (see bench/common.py and bench/README.md).
Exit status: 1 when a row with a target missed it or a benchmark crashed, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, Context, Options, Result  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent


def discover(selected: list[str]) -> list[str]:
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if selected:
        names = [n for n in names if any(s in n for s in selected)]
    return names


def table(rows: list[Result], baseline_rps: float) -> str:
    header = f"{'benchmark':<44} {'req/s':>10} {'p99 ms':>9} {'ratio':>7} {'errors':>7}  {'target':<26} result"
    lines = [f"baseline GET /healthz: {baseline_rps:.1f} req/s", header, "-" * len(header)]
    for r in rows:
        verdict = "-" if r.ok is None else ("ok" if r.ok else "MISSED")
        lines.append(f"{r.name[:44]:<44} {r.rps:>10.1f} {r.p99_ms:>9.2f} {r.ratio:>7.3f} {r.errors:>7}  "
                     f"{r.target[:26]:<26} {verdict}" + (f"  ({r.notes})" if r.notes else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="selected", action="append", default=[],
                        help="run only benchmarks whose module name contains this (repeatable)")
    parser.add_argument("-d", "--duration", default="10s", help="wrk -d per measurement (default 10s)")
    parser.add_argument("-c", "--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("-t", "--threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--no-migrate", dest="migrate", action="store_false", help="skip manage.py migrate")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    names = discover(args.selected)
    if args.list:
        print("\n".join(names))
        return 0
    if not names:
        print("no benchmark matches", args.selected, file=sys.stderr)
        return 2

    ctx = Context(Options(duration=args.duration, threads=args.threads, connections=args.connections,
                          migrate=args.migrate))
    rows: list[Result] = []
    crashed: dict[str, str] = {}
    baseline_end = None
    started = time.time()
    try:
        ctx.prepare()
        for name in names:
            print(f"running {name} …", file=sys.stderr, flush=True)
            try:
                rows.extend(importlib.import_module(f"bench.{name}").run(ctx))
            except Exception:  # one broken benchmark must not hide the others' numbers
                crashed[name] = traceback.format_exc()
                print(crashed[name], file=sys.stderr)
        # The baseline again: a large drift means the machine's load changed during the run.
        baseline_end = ctx.wrk("/healthz")
    finally:
        ctx.close()

    print(table(rows, ctx.baseline.rps if ctx.baseline else 0.0))
    if baseline_end and ctx.baseline and ctx.baseline.rps:
        drift = baseline_end.rps / ctx.baseline.rps - 1
        print(f"baseline at the end: {baseline_end.rps:.1f} req/s ({drift:+.0%} drift)")
    for name in crashed:
        print(f"{name}: CRASHED (traceback above)")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": started,
        "options": vars(args),
        "database": ctx.database.rsplit("/", 1)[-1],
        "baseline": asdict(ctx.baseline) if ctx.baseline else None,
        "baseline_end": asdict(baseline_end) if baseline_end else None,
        "results": [asdict(r) for r in rows],
        "crashed": crashed,
    }
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started))
    for path in (RESULTS_DIR / f"bench-{stamp}.json", RESULTS_DIR / "latest.json"):
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"results: {RESULTS_DIR / f'bench-{stamp}.json'}")
    return 1 if crashed or any(r.ok is False for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
