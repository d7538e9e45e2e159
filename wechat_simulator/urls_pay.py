"""/__sim__/pay/<path>: the simulated api.mch.weixin.qq.com (see wechat_simulator/pay.py)."""

from django.urls import path

from wechat_simulator.pay import pay_view

urlpatterns = [
    path("<path:route>", pay_view, name="sim-pay"),
]
