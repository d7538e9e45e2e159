"""Trade bills (spec 6.9 and 7): the simulator lists a Beijing day's payments and refunds as
backtick CSV in yuan; the gateway downloads them through WECHAT_PAY_API_BASE, v3 and v2."""

import csv
import hashlib
import io

import pytest
import requests
from django.conf import settings

from payments.gateway import gateway
from tests.wechat_pay.helpers import order_body, raw_v3
from wechat_simulator import pay_bill, pay_state, store
from wxbackend.wechat import paycrypto
from wxbackend.wechat.pay import PayRejected


def _paid_trade(out_trade_no: str, total_fen: int) -> dict:
    assert raw_v3("POST", "/v3/pay/transactions/jsapi",
                  order_body(out_trade_no, amount={"total": total_fen, "currency": "CNY"})).status_code == 200
    return pay_state.pay_order(out_trade_no)


def _refund(out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int) -> None:
    answer = raw_v3("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
        "amount": {"refund": refund_fen, "total": total_fen, "currency": "CNY"},
    })
    assert answer.status_code == 200, answer.text


def _today():
    return pay_state.now_beijing().date()


def test_v3_bill_lists_the_days_payments_and_refunds_in_yuan(wechat_sim):
    paid = _paid_trade("WX_BILL_0001", 12900)
    _paid_trade("WX_BILL_0002", 100)
    _refund("WX_BILL_0002", "R_BILL_0002", 40, 100)
    raw_v3("POST", "/v3/pay/transactions/jsapi", order_body("WX_BILL_UNPAID"))  # never paid: not billed

    rows = gateway().trade_bill(_today())

    assert sorted((r.out_trade_no, r.state, r.total_fen, r.refund_fen) for r in rows) == [
        ("WX_BILL_0001", "SUCCESS", 12900, 0),
        ("WX_BILL_0002", "REFUND", 0, 40),
        ("WX_BILL_0002", "SUCCESS", 100, 0),
    ]
    assert {r.transaction_id for r in rows if r.out_trade_no == "WX_BILL_0001"} == {paid["transaction_id"]}
    # The client asked for the bill, then fetched the file through the configured base.
    assert [c["path"] for c in store.calls(api="pay")][-2:] == ["v3/bill/tradebill", "v3/billdownload/file"]


def test_v3_bill_file_is_wechats_backtick_csv_and_answered_unsigned(wechat_sim):
    _paid_trade("WX_BILL_0003", 12900)
    answer = raw_v3("GET", f"/v3/bill/tradebill?bill_date={_today().isoformat()}&bill_type=ALL")
    assert answer.status_code == 200
    meta = answer.json()
    assert meta["hash_type"] == "SHA1"
    assert meta["download_url"].startswith("https://api.mch.weixin.qq.com/v3/billdownload/file?token=")

    path = meta["download_url"].removeprefix("https://api.mch.weixin.qq.com")
    file = raw_v3("GET", path)
    assert file.status_code == 200 and "Wechatpay-Signature" not in file.headers
    assert hashlib.sha1(file.content).hexdigest() == meta["hash_value"]  # noqa: S324
    header, row, summary_header, summary = list(csv.reader(io.StringIO(file.content.decode())))
    assert header == pay_bill.HEADER and len(header) == 27
    assert all(cell.startswith("`") for cell in row)
    fields = dict(zip(header, (cell[1:] for cell in row), strict=True))
    assert (fields["商户订单号"], fields["交易状态"], fields["应结订单金额"], fields["订单金额"]) == (
        "WX_BILL_0003", "SUCCESS", "129.00", "129.00")
    assert (fields["手续费"], fields["费率"], fields["商户号"]) == ("0.77", "0.60%", settings.WECHAT_PAY_MCH_ID)
    assert summary_header[0] == "总交易单数" and summary[:2] == ["`1", "`129.00"]


def test_v3_bill_download_needs_the_merchants_signature(wechat_sim, pay_key_files):
    _paid_trade("WX_BILL_0004", 100)
    meta = raw_v3("GET", f"/v3/bill/tradebill?bill_date={_today().isoformat()}").json()
    path = meta["download_url"].removeprefix("https://api.mch.weixin.qq.com")
    forged = raw_v3("GET", path, key_path=pay_key_files.other_private)
    assert forged.status_code == 401 and forged.json()["code"] == "SIGN_ERROR"
    unsigned = requests.get(settings.WECHAT_PAY_API_BASE + path, timeout=10)
    assert unsigned.status_code == 401
    expired = raw_v3("GET", "/v3/billdownload/file?token=nope")
    assert expired.status_code == 400


def test_v3_a_day_without_trades_has_no_bill(wechat_sim):
    answer = raw_v3("GET", "/v3/bill/tradebill?bill_date=2020-01-01&bill_type=ALL")
    assert (answer.status_code, answer.json()["code"]) == (400, "NO_STATEMENT_EXIST")
    assert raw_v3("GET", "/v3/bill/tradebill?bill_date=20200101").json()["code"] == "PARAM_ERROR"
    assert gateway().trade_bill(_today()) == []


def test_bill_controls_shift_an_amount_and_add_a_foreign_trade(wechat_sim):
    _paid_trade("WX_BILL_0005", 12900)
    pay_bill.bill_shift("WX_BILL_0005", -100)
    pay_bill.bill_add_trade("WX_FOREIGN_01", 5000)
    rows = {r.out_trade_no: r.total_fen for r in gateway().trade_bill(_today())}
    assert rows == {"WX_BILL_0005": 12800, "WX_FOREIGN_01": 5000}
    # The trade itself is unchanged: a query still answers what was paid.
    assert raw_v3("GET", "/v3/pay/transactions/out-trade-no/WX_BILL_0005?mchid=1900000109").json()[
        "amount"]["total"] == 12900
    with pytest.raises(pay_state.PayStateError):
        pay_bill.bill_shift("WX_NEVER", 1)


def test_v2_downloadbill_answers_the_bill_text_or_no_bill_exist(wechat_sim, settings):
    settings.WECHAT_PAY_API_VERSION = "v2"
    assert gateway().trade_bill(_today()) == []  # No Bill Exist
    _paid_trade("WX_BILL_0006", 300)
    _refund("WX_BILL_0006", "R_BILL_0006", 300, 300)

    rows = gateway().trade_bill(_today())

    assert sorted((r.out_trade_no, r.state, r.total_fen, r.refund_fen) for r in rows) == [
        ("WX_BILL_0006", "REFUND", 0, 300), ("WX_BILL_0006", "SUCCESS", 300, 0)]
    calls = store.calls(path="pay/downloadbill")
    assert [c["verdict"] for c in calls] == ["No Bill Exist", "ok"]


def test_v2_downloadbill_refuses_a_bad_sign(wechat_sim):
    fields = {"appid": settings.WECHAT_MINIAPP_APPID, "mch_id": settings.WECHAT_PAY_MCH_ID,
              "nonce_str": "n" * 16, "bill_date": _today().strftime("%Y%m%d"), "bill_type": "ALL"}
    fields["sign"] = paycrypto.v2_sign(fields, "0" * 32)
    answer = requests.post(settings.WECHAT_PAY_API_BASE + "/pay/downloadbill",
                           data=paycrypto.v2_dict_to_xml(fields).encode(), timeout=10)
    assert paycrypto.v2_xml_to_dict(answer.content) == {"return_code": "FAIL", "return_msg": "签名错误"}


def test_v3_no_statement_is_not_mistaken_for_other_refusals(wechat_sim):
    pay_state.fail_next("v3/bill/tradebill", status=403, code="NO_AUTH", message="无权限")
    with pytest.raises(PayRejected) as caught:
        gateway().trade_bill(_today())
    assert caught.value.code == "NO_AUTH"
