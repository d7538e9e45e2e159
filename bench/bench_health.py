"""Self-check of the harness: GET /healthz measured again against the baseline (itself).

Its ratio should sit near 1.0; far from it, the machine is too noisy for the other
ratios to mean much (other processes, CPU throttling)."""

from bench.common import Context, Result

NOISE_TOLERANCE = 0.25


def run(ctx: Context) -> list[Result]:
    measured = ctx.wrk("/healthz")
    row = ctx.result("GET /healthz (self-check)", measured, notes="ratio should be ~1.0")
    row.ok = measured.non_2xx == 0 and abs(row.ratio - 1.0) <= NOISE_TOLERANCE
    if not row.ok:
        row.notes = f"noisy machine: ratio {row.ratio} is more than {NOISE_TOLERANCE:.0%} off 1.0"
    return [row]
