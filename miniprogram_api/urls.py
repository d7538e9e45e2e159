"""The mini-program REST API, mounted at /api/v1/ (paths exactly as CONTRACT.md names them)."""

from django.urls import path, re_path

from miniprogram_api.api.catalog import CategoryListApi, ProductDetailApi, ProductListApi
from miniprogram_api.api.common import unknown_path
from miniprogram_api.api.customers import (
    AuthLoginApi,
    AuthLogoutApi,
    MeApi,
    MeExportApi,
    MePhoneApi,
    MeSubscriptionsApi,
)
from miniprogram_api.api.orders import (
    OrderCancelApi,
    OrderConfirmReceiptApi,
    OrderDetailApi,
    OrderListApi,
    OrderPayApi,
    OrderRefundRequestApi,
)
from miniprogram_api.api.shopping import AddressDetailApi, AddressListApi, CartItemDetailApi, CartItemListApi

app_name = "miniprogram_api"

urlpatterns = [
    path("auth/login", AuthLoginApi.as_view(), name="auth-login"),
    path("auth/logout", AuthLogoutApi.as_view(), name="auth-logout"),
    path("me", MeApi.as_view(), name="me"),
    path("me/phone", MePhoneApi.as_view(), name="me-phone"),
    path("me/subscriptions", MeSubscriptionsApi.as_view(), name="me-subscriptions"),
    path("me/export", MeExportApi.as_view(), name="me-export"),
    path("categories/", CategoryListApi.as_view(), name="category-list"),
    path("products/", ProductListApi.as_view(), name="product-list"),
    path("products/<int:pk>/", ProductDetailApi.as_view(), name="product-detail"),
    path("cart/items/", CartItemListApi.as_view(), name="cart-item-list"),
    path("cart/items/<int:pk>/", CartItemDetailApi.as_view(), name="cart-item-detail"),
    path("addresses/", AddressListApi.as_view(), name="address-list"),
    path("addresses/<int:pk>/", AddressDetailApi.as_view(), name="address-detail"),
    path("orders/", OrderListApi.as_view(), name="order-list"),
    path("orders/<str:order_no>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:order_no>/pay", OrderPayApi.as_view(), name="order-pay"),
    path("orders/<str:order_no>/cancel", OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<str:order_no>/confirm-receipt", OrderConfirmReceiptApi.as_view(), name="order-confirm-receipt"),
    path("orders/<str:order_no>/refund-request", OrderRefundRequestApi.as_view(), name="order-refund-request"),
    # Last: whatever else lies under /api/v1/ answers a JSON 404 (see unknown_path).
    re_path(r"^(?P<rest>.*)$", unknown_path, name="unknown-path"),
]
