"""The simulator, mounted at /__sim__/ in debug only (see wxbackend/urls.py):

- /__sim__/api/...  stands in for api.weixin.qq.com  (WECHAT_API_BASE)
- /__sim__/pay/...  stands in for api.mch.weixin.qq.com  (WECHAT_PAY_API_BASE)
- /__sim__/         a page listing the calls it received; /__sim__/control/... for tests
"""

from django.urls import include, path

urlpatterns = [
    path("api/", include("wechat_simulator.urls_mp")),
    path("pay/", include("wechat_simulator.urls_pay")),
    path("", include("wechat_simulator.urls_control")),
]
