"""One whole purchase as the console plays it: the mini-program's calls go to /api/v1/ over
HTTP with the customer's token; the simulator plays the phone (login code, paying the
`wx.requestPayment` parameters after checking paySign) and WeChat Pay (the signed
notifications, finishing a refund), and the console lists the notices the customer got."""

import time

import pytest
import requests

from orders.models import Order, OrderEvent
from payments.refunds import refund_start
from tests.factories import SkuFactory
from wxbackend.wechat import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served(shop, settings):
    settings.WECHAT_PAY_NOTIFY_BASE_URL = shop.url  # notifications come back to the served project
    return shop


class Phone:
    """The customer's phone: the mini-program's HTTP calls, and the simulator's console."""

    def __init__(self, url: str):
        self.url, self.token = url, None

    def api(self, method: str, path: str, body=None, expect: int = 200):
        answer = requests.request(method, f"{self.url}/api/v1/{path}", json=body, timeout=10,
                                  headers={"Authorization": f"Bearer {self.token}"} if self.token else {})
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None

    def sim(self, method: str, path: str, body=None, expect: int = 200):
        answer = requests.request(method, f"{self.url}/__sim__/{path}", json=body, timeout=10)
        assert answer.status_code == expect, answer.text
        return answer.json()


def _wait_for(predicate, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while not (found := predicate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_log_in_browse_order_pay_and_get_refunded(served):
    sku = SkuFactory(price_fen=12900, stock=5, product__title="保温杯")
    phone = Phone(served.url)
    code = phone.sim("POST", "control/login-code", {"openid": "o_console_buyer"})["code"]
    phone.token = phone.api("POST", "auth/login", {"code": code})["token"]

    [listed] = [p for p in phone.api("GET", "products/?q=保温杯")["results"] if p["id"] == sku.product_id]
    assert listed["price_fen"] == 12900
    phone.api("POST", "cart/items/", {"sku_id": sku.id, "quantity": 2}, expect=201)
    address = phone.api("POST", "addresses/", {
        "user_name": "张三", "tel_number": "13800138000", "province_name": "广东省", "city_name": "广州市",
        "county_name": "天河区", "detail_info": "天河路 1 号"}, expect=201)
    order = phone.api("POST", "orders/", {"items": [{"sku_id": sku.id, "quantity": 2}],
                                          "address_id": address["id"]}, expect=201)
    assert (order["status"], order["total_fen"]) == ("pending_payment", 25800)

    params = phone.api("POST", f"orders/{order['order_no']}/pay")
    forged = phone.sim("POST", "console/pay", {**params, "package": params["package"] + "x"}, expect=400)
    assert forged["code"] == "sign_error"  # WeChat's client checks paySign before paying
    paid = phone.sim("POST", "console/pay", params)

    assert paid["trade_state"] == "SUCCESS" and paid["notify_status"] == 204
    assert phone.api("GET", f"orders/{order['order_no']}/")["status"] == "paid"
    assert phone.sim("POST", "console/pay", params)["notify_status"] == 204  # paying twice is a no-op
    assert OrderEvent.objects.filter(order__order_no=order["order_no"], to_status="paid").count() == 1

    phone.api("POST", f"orders/{order['order_no']}/refund-request", {"reason": "不想要了"}, expect=201)
    # Staff approve in the back office; WeChat Pay holds the refund until the console finishes it.
    refund_start(order_id=Order.objects.get(order_no=order["order_no"]).pk, amount_fen=25800,
                 reason="不想要了", requested_by="staff:1")
    waiting = _wait_for(lambda: [r for r in phone.sim("GET", "console/refunds")["refunds"]
                                 if r["status"] == "PROCESSING"])
    assert [(r["out_trade_no"], r["refund_fen"]) for r in waiting] == [(paid["out_trade_no"], 25800)]
    finished = requests.post(f"{served.url}/__sim__/pay/__control__/refund/{waiting[0]['out_refund_no']}",
                             timeout=10).json()
    assert finished["notify_status"] == 204
    assert phone.api("GET", f"orders/{order['order_no']}/")["status"] == "refunded"


def test_paying_an_unknown_prepay_id_or_a_bad_package_is_refused(served):
    phone = Phone(served.url)
    assert phone.sim("POST", "console/pay", {"package": "nonsense"}, expect=400)["code"] == "invalid"


def test_notices_list_what_the_project_sent_this_customer_only(served, settings):
    served.issue_login_code("o_console_n1")
    served.issue_login_code("o_console_n2")
    for openid in ("o_console_n1", "o_console_n2"):
        call("miniapp", "POST", "cgi-bin/message/subscribe/send", json={
            "touser": openid, "template_id": "TPL_PAID", "data": {"thing1": {"value": "订单已支付"}}})

    notices = requests.get(f"{served.url}/__sim__/console/notices", params={"openid": "o_console_n1"},
                           timeout=5).json()["notices"]

    assert [(n["path"], n["body"]["touser"], n["body"]["data"]) for n in notices] == [
        ("cgi-bin/message/subscribe/send", "o_console_n1", {"thing1": {"value": "订单已支付"}})]
