"""/__sim__/: the page listing received calls, its JSON twin, and the controls."""

from django.urls import path

from wechat_simulator import control

urlpatterns = [
    path("", control.index, name="sim-index"),
    path("calls.json", control.calls_json, name="sim-calls"),
    path("control/login-code", control.login_code, name="sim-login-code"),
    path("control/phone-code", control.phone_code, name="sim-phone-code"),
    path("control/user", control.user, name="sim-user"),
    path("control/fail-next", control.fail_next, name="sim-fail-next"),
    path("control/pay", control.pay, name="sim-pay-trade"),
]
