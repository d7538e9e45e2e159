from django.urls import path

from payments import views

urlpatterns = [
    path("wechat/notify/", views.payment_notify, name="payments-notify"),
    path("wechat/refund-notify/", views.refund_notify, name="payments-refund-notify"),
]
