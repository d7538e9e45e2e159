"""Daily reconciliation: the day's WeChat Pay bill (from the simulator, v3 and v2) against
our payments; every difference is listed for staff, in ¥ yuan, until marked resolved."""

import datetime

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.models import Order
from payments.gateway import BEIJING, PrepayRequest, gateway
from payments.models import PaymentAttempt, ReconciliationDifference, ReconciliationRun
from payments.reconciliation import reconcile_day
from payments.tasks import reconcile_yesterday_task
from tests.orders import conftest as orders_fixtures
from tests.wechat_pay.conftest import pay_key_files, pay_settings  # noqa: F401  (keys and merchant)
from wechat_simulator import pay_bill, pay_state
from wxbackend.celery import app as celery_app
from wxbackend.wechat import GatewayUnavailable

pytestmark = pytest.mark.django_db
make_order = orders_fixtures.make_order  # orders made by the services, in any status
Kind = ReconciliationDifference.Kind
OPENID = "o_recon_payer"


@pytest.fixture(params=["v3", "v2"])
def version(request, settings, wechat_sim):
    settings.WECHAT_PAY_API_VERSION = request.param
    return request.param


def _today() -> datetime.date:
    return timezone.now().astimezone(BEIJING).date()


def _attempt(order: Order, number: str, *, status=PaymentAttempt.Status.PAID, at_wechat: bool = True,
             paid_at: datetime.datetime | None = None) -> PaymentAttempt:
    """Our attempt for `order`; with `at_wechat` its trade is created through the pay client
    and paid at the simulator."""
    expires_at = timezone.now() + datetime.timedelta(minutes=30)
    transaction_id = ""
    if at_wechat:
        gateway().prepay(PrepayRequest(out_trade_no=number, description="保温杯", total_fen=order.total_fen,
                                       openid=OPENID, expires_at=expires_at))
        transaction_id = pay_state.pay_order(number)["transaction_id"]
    paid = status == PaymentAttempt.Status.PAID
    return PaymentAttempt.objects.create(
        order=order, out_trade_no=number, api_version=settings.WECHAT_PAY_API_VERSION,
        appid=settings.WECHAT_MINIAPP_APPID, mchid=settings.WECHAT_PAY_MCH_ID, openid=OPENID,
        amount_fen=order.total_fen, expires_at=expires_at, status=status,
        transaction_id=transaction_id if paid else "",
        paid_at=(paid_at or timezone.now()) if paid else None,
    )


def _found(run: ReconciliationRun) -> list[tuple]:
    return sorted((d.kind, d.out_trade_no, d.ours_fen, d.theirs_fen) for d in run.differences.all())


def test_a_day_that_matches_has_no_difference(version, customer, make_order):
    _attempt(make_order(customer, Order.Status.PAID), "RC_MATCH_01")

    run = reconcile_day(day=_today())

    assert (run.status, run.api_version, run.bill_rows, run.matched, run.difference_count) == (
        "done", version, 1, 1, 0)
    assert _found(run) == []


def test_paid_at_wechat_and_not_here(version, customer, make_order):
    # Our attempt is still pending (its notification was lost); a foreign trade we never made.
    _attempt(make_order(customer), "RC_LOST_01", status=PaymentAttempt.Status.PENDING)
    pay_state.pay_order("RC_LOST_01")
    pay_bill.bill_add_trade("RC_FOREIGN_01", 5000)

    run = reconcile_day(day=_today())

    assert _found(run) == [
        (Kind.MISSING_HERE, "RC_FOREIGN_01", None, 5000),
        (Kind.MISSING_HERE, "RC_LOST_01", None, 12900),
    ]
    foreign = run.differences.get(out_trade_no="RC_FOREIGN_01")
    assert foreign.transaction_id == pay_state.order_get("RC_FOREIGN_01")["transaction_id"]


def test_amounts_that_differ(version, customer, make_order):
    _attempt(make_order(customer, Order.Status.PAID), "RC_AMOUNT_01")
    pay_bill.bill_shift("RC_AMOUNT_01", -100)

    run = reconcile_day(day=_today())

    assert _found(run) == [(Kind.AMOUNT, "RC_AMOUNT_01", 12900, 12800)]
    assert run.matched == 0


def test_paid_here_and_not_at_wechat(version, customer, make_order):
    _attempt(make_order(customer, Order.Status.PAID), "RC_GHOST_01", at_wechat=False)
    yesterday = timezone.now() - datetime.timedelta(days=1)
    _attempt(make_order(customer, Order.Status.PAID), "RC_GHOST_02", at_wechat=False, paid_at=yesterday)

    run = reconcile_day(day=_today())  # no trade at WeChat today: no bill at all

    assert (run.status, run.bill_rows) == ("done", 0)
    assert _found(run) == [(Kind.MISSING_AT_WECHAT, "RC_GHOST_01", 12900, None)]  # only that day's


def test_reconciling_again_replaces_the_days_result_and_keeps_resolutions(wechat_sim, customer, make_order):
    _attempt(make_order(customer, Order.Status.PAID), "RC_AGAIN_01")
    _attempt(make_order(customer, Order.Status.PAID), "RC_AGAIN_02")
    pay_bill.bill_shift("RC_AGAIN_01", 1)
    first = reconcile_day(day=_today())
    [difference] = first.differences.all()
    difference.is_resolved, difference.resolution_note = True, "银行手续费调整"
    difference.save()
    pay_bill.bill_shift("RC_AGAIN_02", 2)

    again = reconcile_day(day=_today())

    assert again.pk == first.pk and ReconciliationRun.objects.count() == 1
    assert [(d.out_trade_no, d.is_resolved, d.resolution_note) for d in again.differences.order_by("out_trade_no")] == [
        ("RC_AGAIN_01", True, "银行手续费调整"), ("RC_AGAIN_02", False, "")]
    assert ReconciliationDifference.objects.count() == 2


def test_a_failed_download_is_recorded_and_keeps_the_last_result(wechat_sim, customer, make_order):
    _attempt(make_order(customer, Order.Status.PAID), "RC_FAIL_01", at_wechat=False)
    reconcile_day(day=_today())
    pay_state.fail_next("v3/bill/tradebill", status=500)

    with pytest.raises(GatewayUnavailable):
        reconcile_day(day=_today())

    run = ReconciliationRun.objects.get(day=_today())
    assert run.status == "failed" and "SYSTEM_ERROR" in run.error
    assert run.differences.count() == 1


def test_the_command_reconciles_a_date_and_lists_the_differences(wechat_sim, customer, make_order, capsys):
    _attempt(make_order(customer, Order.Status.PAID), "RC_CMD_01")
    pay_bill.bill_shift("RC_CMD_01", 100)

    call_command("reconcile", "--date", _today().isoformat())

    out = capsys.readouterr().out
    assert "1 bill rows, 0 matched, 1 differences" in out
    assert "amount RC_CMD_01 ours ¥129.00 WeChat ¥130.00" in out
    with pytest.raises(CommandError):
        call_command("reconcile", "--date", "25/11/2026")
    pay_state.fail_next("v3/bill/tradebill", status=500)
    with pytest.raises(CommandError, match="could not be downloaded"):
        call_command("reconcile", "--date", _today().isoformat())


def test_beat_reconciles_yesterday_daily(wechat_sim):
    assert settings.CELERY_BEAT_SCHEDULE["payments-reconcile"]["task"] in celery_app.tasks

    assert reconcile_yesterday_task.delay().get() == 0

    assert ReconciliationRun.objects.get().day == _today() - datetime.timedelta(days=1)


def test_staff_see_differences_in_yuan_filter_them_and_mark_them_resolved(wechat_sim, customer, make_order,
                                                                           admin_client, admin_user):
    _attempt(make_order(customer, Order.Status.PAID), "RC_ADMIN_01")
    pay_bill.bill_shift("RC_ADMIN_01", -100)
    pay_bill.bill_add_trade("RC_ADMIN_02", 5000)
    run = reconcile_day(day=_today())

    page = admin_client.get("/admin/payments/reconciliationdifference/").content.decode()
    assert "¥129.00" in page and "¥128.00" in page and "¥50.00" in page
    assert "金额不一致" in page and "微信已收款，本系统未记录" in page
    only = admin_client.get("/admin/payments/reconciliationdifference/", {"kind__exact": "amount"})
    assert [d.out_trade_no for d in only.context["cl"].result_list] == ["RC_ADMIN_01"]
    runs = admin_client.get("/admin/payments/reconciliationrun/").content.decode()
    assert "每日对账" in runs and _today().strftime("%Y") in runs

    answer = admin_client.post("/admin/payments/reconciliationdifference/", {
        "action": "mark_resolved", "_selected_action": [d.pk for d in run.differences.all()]}, follow=True)

    assert "已将 2 条差异标记为已处理" in answer.content.decode()
    assert set(run.differences.values_list("is_resolved", "resolved_by")) == {(True, f"staff:{admin_user.pk}")}
    assert admin_client.get("/admin/payments/reconciliationdifference/add/").status_code == 403
