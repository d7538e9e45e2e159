"""The money path under load (issue 8).

1. v3 payment notifications, duplicates of one paid order: each is recorded, its
   signature and timestamp verified, its resource decrypted, the order and attempt locked
   and found paid (PostgreSQL). Target: ratio to /healthz >= 0.3.
2. Order creation by 20 concurrent buyers of one SKU until it sells out: oversold 0, no
   deadlock or 5xx, p99 reported (every buyer a separate customer with its own token).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Context, Result

NOTIFY_TARGET = 0.3
BUYERS = 20
STOCK = 3000

ORDER_LUA = """
local counter, threads = 0, {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  buyers, n, idx, failures = {}, 0, 0, 0
  for line in io.lines("%(buyers)s") do
    local tab = line:find("\\t", 1, true)
    n = n + 1
    buyers[n] = {line:sub(1, tab - 1), line:sub(tab + 1)}
  end
  idx = tid
end
function request()
  idx = idx %% n + 1
  return wrk.format("POST", "/api/v1/orders/", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. buyers[idx][1]},
    '{"items": [{"sku_id": %(sku)d, "quantity": 1}], "address_id": ' .. buyers[idx][2] .. '}')
end
function response(status, headers, body)
  if status >= 500 then failures = failures + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failures") end
  local out = io.open("%(report)s", "w")
  out:write(total)
  out:close()
end
"""


def _paid_order_notification(ctx: Context) -> tuple[dict, bytes]:
    """A paid order in the bench database and the v3 notification WeChat sends for it."""
    ctx.django()
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from catalog.models import Sku
    from orders.models import Order
    from orders.services import order_create
    from payments.models import PaymentAttempt
    from tests.factories import AddressFactory, CustomerFactory, SkuFactory
    from wxbackend.wechat import paycrypto

    customer = CustomerFactory(openid=f"o_bench_pay_{time.time_ns()}")
    sku = Sku.objects.filter(code="BENCH-NOTIFY").first() or SkuFactory(code="BENCH-NOTIFY", price_fen=12900)
    Sku.objects.filter(pk=sku.pk).update(stock=10)
    address = AddressFactory(customer=customer)
    order = order_create(customer_id=customer.pk, lines=[(sku.pk, 1)], address_id=address.pk)
    attempt = PaymentAttempt.objects.create(
        order=order, out_trade_no=f"{order.order_no}01", api_version="v3", appid=ctx.env["WECHAT_MINIAPP_APPID"],
        mchid=ctx.env["WECHAT_PAY_MCH_ID"], openid=customer.openid, amount_fen=order.total_fen,
        expires_at=timezone.now() + datetime.timedelta(minutes=30),
    )
    resource = {
        "appid": attempt.appid, "mchid": attempt.mchid, "out_trade_no": attempt.out_trade_no,
        "transaction_id": f"4200{time.time_ns()}"[:28], "trade_type": "JSAPI", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
        "success_time": timezone.now().isoformat(timespec="seconds"), "payer": {"openid": attempt.openid},
        "amount": {"total": attempt.amount_fen, "payer_total": attempt.amount_fen, "currency": "CNY",
                   "payer_currency": "CNY"},
    }
    body = json.dumps({
        "id": f"EV-bench-{time.time_ns()}", "create_time": timezone.now().isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
        "resource": paycrypto.v3_encrypt_resource(ctx.env["WECHAT_PAY_APIV3_KEY"], resource,
                                                  associated_data="transaction", original_type="transaction"),
    }, ensure_ascii=False).encode()
    headers = paycrypto.v3_signed_headers(
        body, private_key=paycrypto.private_key_from_path(settings.WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH),
        serial=ctx.env["WECHAT_PAY_PUBLIC_KEY_ID"],
    )
    assert Order.objects.get(pk=order.pk).status == "pending_payment"
    return {**headers, "Content-Type": "application/json"}, body


def _buyers(ctx: Context, folder: Path) -> tuple[int, Path]:
    """BUYERS customers, each with a token and an address (`token<TAB>address_id` lines),
    and one SKU with STOCK units."""
    ctx.django()
    from catalog.models import Sku
    from tests.factories import AddressFactory, CustomerFactory, SkuFactory, bearer_for

    sku = Sku.objects.filter(code="BENCH-RUSH").first() or SkuFactory(code="BENCH-RUSH", price_fen=990)
    Sku.objects.filter(pk=sku.pk).update(stock=STOCK)
    lines = []
    for n in range(BUYERS):
        customer = CustomerFactory(openid=f"o_bench_rush_{time.time_ns()}_{n}")
        lines.append(f"{bearer_for(customer)}\t{AddressFactory(customer=customer).pk}")
    path = folder / "buyers.tsv"
    path.write_text("\n".join(lines) + "\n")
    return sku.pk, path


def run(ctx: Context) -> list[Result]:
    headers, body = _paid_order_notification(ctx)
    first = ctx.wrk("/payments/wechat/notify/", method="POST", body=body.decode(), headers=headers, duration="1s")
    notify = ctx.wrk("/payments/wechat/notify/", method="POST", body=body.decode(), headers=headers)
    from catalog.models import Sku
    from orders.models import Order
    from payments.models import PaymentNotification

    verdicts = set(PaymentNotification.objects.filter(body=body.decode()).values_list("verdict", flat=True))
    row = ctx.result("POST /payments/wechat/notify/ v3 duplicates", notify,
                     notes=f"verdicts {sorted(verdicts)}; first run {first.requests} requests")
    row.target = f"ratio >= {NOTIFY_TARGET}"
    row.ok = row.errors == 0 and row.ratio >= NOTIFY_TARGET and verdicts == {"applied", "duplicate"}
    rows = [row]

    with tempfile.TemporaryDirectory(prefix="wxb-bench-pay-") as tmp:
        sku_id, buyers = _buyers(ctx, Path(tmp))
        report = Path(tmp) / "failures.txt"
        before = Order.objects.filter(items__sku_id=sku_id).count()
        rush = ctx.wrk("/api/v1/orders/", lua=ORDER_LUA % {"buyers": buyers, "sku": sku_id, "report": report},
                       connections=BUYERS)
        failures = int(report.read_text() or 0) if report.exists() else -1
    sold = Order.objects.filter(items__sku_id=sku_id).count() - before
    stock = Sku.objects.get(pk=sku_id).stock
    oversold = max(0, sold - STOCK) + max(0, -stock)
    rows.append(Result(
        name=f"POST /api/v1/orders/ {BUYERS} buyers, one SKU", rps=rush.rps, p99_ms=rush.p99_ms,
        ratio=round(rush.rps / ctx.baseline.rps, 3) if ctx.baseline.rps else 0.0, baseline="GET /healthz",
        errors=rush.socket_errors + max(failures, 0), target="oversold 0, 5xx 0",
        ok=oversold == 0 and stock == STOCK - sold and failures == 0 and rush.socket_errors == 0,
        notes=f"sold {sold} of {STOCK}, stock left {stock}, oversold {oversold}, 5xx (deadlocks) {failures}, "
              f"non-2xx {rush.non_2xx} (409 out_of_stock once sold out), p50 {rush.p50_ms:.1f} ms",
    ))
    return rows


if __name__ == "__main__":
    sys.exit("run through bench/run.py: `make bench BENCH_ARGS='-k payments'`")
