"""`make run` keeps its data in SQLite, where the one-statement duplicate insert
(PostgreSQL's `::jsonb`, `left()`) cannot run: its portable twin must store the same
record, so paying through the console works there too."""

import pytest

from payments import services
from payments.gateway import TradeState
from payments.models import PaymentAttempt, PaymentNotification
from tests.payments.conftest import pay_at_wechat, post_notification

pytestmark = pytest.mark.django_db


def _record() -> PaymentNotification:
    return PaymentNotification(kind=PaymentNotification.Kind.PAYMENT, api_version="v3", notice_id="retry",
                               headers={"Wechatpay-Serial": "x"}, body="{}")


def test_the_portable_duplicate_store_matches_the_postgresql_statement(shop, buyer_api, make_unpaid,
                                                                        notify_receiver, client):
    order = make_unpaid(price_fen=12900)
    assert buyer_api.post(f"/api/v1/orders/{order.order_no}/pay").status_code == 200
    attempt = PaymentAttempt.objects.get(order=order)
    assert post_notification(client, *pay_at_wechat(attempt.out_trade_no, notify_receiver)).status_code == 204
    attempt.refresh_from_db()
    trade = TradeState(out_trade_no=attempt.out_trade_no, state="SUCCESS", transaction_id=attempt.transaction_id,
                       total_fen=attempt.amount_fen, appid=attempt.appid, mchid=attempt.mchid)

    one_statement = services._store_if_duplicate(_record(), trade)
    portable = services._store_if_duplicate_portable(_record(), trade)

    assert portable == one_statement == ("duplicate", f"already applied ({attempt.transaction_id})")
    stored = list(PaymentNotification.objects.filter(notice_id="retry").values_list("verdict", "attempt_id"))
    assert stored == [("duplicate", attempt.pk)] * 2


def test_the_portable_store_leaves_a_trade_it_does_not_know_to_the_full_path(shop):
    trade = TradeState(out_trade_no="nobody", state="SUCCESS", transaction_id="t", total_fen=1, appid="a", mchid="m")

    assert services._store_if_duplicate_portable(_record(), trade) is None
    assert not PaymentNotification.objects.exists()
