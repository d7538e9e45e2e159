"""/__sim__/: the page listing received calls, its JSON twin, the controls and the console."""

from django.urls import path

from wechat_simulator import console, control

urlpatterns = [
    path("", control.index, name="sim-index"),
    path("calls.json", control.calls_json, name="sim-calls"),
    path("control/login-code", control.login_code, name="sim-login-code"),
    path("control/phone-code", control.phone_code, name="sim-phone-code"),
    path("control/user", control.user, name="sim-user"),
    path("control/fail-next", control.fail_next, name="sim-fail-next"),
    path("control/pay", control.pay, name="sim-pay-trade"),
    path("console/", console.page, name="sim-console"),
    path("console/console.js", console.script, name="sim-console-js"),
    path("console/mp/push", console.mp_push, name="sim-console-mp-push"),
    path("console/mp/chat", console.mp_chat, name="sim-console-mp-chat"),
    path("console/media/<str:media_id>", console.media, name="sim-console-media"),
    path("console/notices", console.notices, name="sim-console-notices"),
    path("console/pay", console.pay, name="sim-console-pay"),
    path("console/refunds", console.refunds, name="sim-console-refunds"),
]
