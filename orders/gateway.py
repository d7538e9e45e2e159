"""The orders' WeChat calls: the mini-program's shipping-information upload (发货信息管理),
which wechatpy lacks, through the shared client layer (token, timeouts, errcode map)."""

import datetime
from dataclasses import dataclass

from wxbackend.wechat import call

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
UPLOAD_PATH = "wxa/sec/order/upload_shipping_info"


@dataclass(frozen=True)
class Shipment:
    transaction_id: str
    payer_openid: str
    tracking_no: str
    express_company: str  # WeChat's code (SF, YTO, …)
    item_desc: str
    receiver_contact: str  # masked, e.g. 138****8000
    shipped_at: datetime.datetime


def shipping_info_upload(shipment: Shipment) -> None:
    """Tell WeChat the paid trade shipped, in one parcel by express. Raises GatewayRejected
    (e.g. 10060001 no such trade) or GatewayUnavailable (retry later)."""
    call("miniapp", "POST", UPLOAD_PATH, json={
        "order_key": {"order_number_type": 2, "transaction_id": shipment.transaction_id},
        "logistics_type": 1,  # express
        "delivery_mode": 1,  # everything in one parcel
        "shipping_list": [{
            "tracking_no": shipment.tracking_no,
            "express_company": shipment.express_company,
            "item_desc": shipment.item_desc[:120],
            "contact": {"receiver_contact": shipment.receiver_contact},
        }],
        "upload_time": shipment.shipped_at.astimezone(BEIJING).isoformat(timespec="seconds"),
        "payer": {"openid": shipment.payer_openid},
    })
