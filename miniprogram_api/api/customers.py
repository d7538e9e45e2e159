"""Login, logout and the customer's own profile, phone, subscriptions, export and erasure."""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from miniprogram_api.api.common import (
    BODY_ERRORS,
    UNAUTHENTICATED,
    StrictCharField,
    StrictIntegerField,
    error,
    invalid,
)
from miniprogram_api.api.shopping import AddressOutputSerializer
from miniprogram_api.selectors import customer_export, customer_follower
from miniprogram_api.services import (
    customer_bind_phone,
    customer_erase,
    customer_login,
    customer_update_profile,
    subscription_record,
    token_revoke,
)
from wxbackend.api import CustomerRateThrottle, LoginRateThrottle


class CustomerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    gender = serializers.IntegerField(help_text="0 unknown, 1 male, 2 female.")
    phone = serializers.CharField(source="phone_masked", help_text="Masked, e.g. `138****8000`; empty if unbound.")
    has_phone = serializers.SerializerMethodField()
    follows_official_account = serializers.SerializerMethodField(
        help_text="An official-account follower shares this customer's unionid."
    )
    created_at = serializers.DateTimeField()

    def get_has_phone(self, obj) -> bool:
        return bool(obj.phone)

    def get_follows_official_account(self, obj) -> bool:
        follower = customer_follower(customer=obj)
        return bool(follower and getattr(follower, "is_subscribed", True))


CUSTOMER_EXAMPLE = {"id": 7, "nickname": "小王", "avatar_url": "https://thirdwx.qlogo.cn/mmopen/x/132",
                    "gender": 0, "phone": "138****8000", "has_phone": True,
                    "follows_official_account": False, "created_at": "2026-11-25T14:30:00+08:00"}
WECHAT_DOWN = {503: error(503, "wechat_unavailable", description="WeChat is unreachable or busy.")}


class LoginInputSerializer(serializers.Serializer):
    code = StrictCharField(max_length=128, help_text="The code from `wx.login()`.")


class LoginOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`.")
    expires_at = serializers.DateTimeField()
    customer = CustomerOutputSerializer()


class AuthLoginApi(APIView):
    # Public: this is how a customer gets a token. Throttled per client address.
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginRateThrottle]

    @extend_schema(
        operation_id="auth_login",
        summary="Log in with a wx.login code",
        description="Exchanges the code with WeChat (jscode2session). One customer per openid; "
        "the session_key stays on the server. Returns a Bearer token.",
        tags=["auth"],
        auth=[],
        request=LoginInputSerializer,
        responses={
            200: LoginOutputSerializer,
            400: invalid(("code", "This field is required."), extra_codes=("invalid_code",)),
            403: error(403, "login_blocked", description="WeChat blocked the login (40226)."),
            429: error(429, "wechat_rate_limited", "throttled",
                       description="WeChat's per-user limit (45011) or our login throttle."),
            502: error(502, "wechat_error", description="WeChat refused the call for another reason."),
            **WECHAT_DOWN, **BODY_ERRORS,
        },
        examples=[
            OpenApiExample("request", value={"code": "0a3Bc...wx.login"}, request_only=True),
            OpenApiExample("response", value={"token": "Jx0v...", "expires_at": "2026-12-25T14:30:00+08:00",
                                               "customer": CUSTOMER_EXAMPLE}, response_only=True),
        ],
    )
    def post(self, request):
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        login = customer_login(code=data.validated_data["code"])
        return Response(LoginOutputSerializer(login).data)


class AuthLogoutApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="auth_logout",
        summary="Revoke the token in use",
        tags=["auth"],
        request=None,
        responses={204: OpenApiResponse(description="Revoked; the token no longer works."), **UNAUTHENTICATED},
    )
    def post(self, request):
        token_revoke(token=request.auth)
        return Response(status=204)


class ProfileUpdateInputSerializer(serializers.Serializer):
    nickname = StrictCharField(required=False, allow_blank=True, max_length=64)
    avatar_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    gender = StrictIntegerField(required=False, min_value=0, max_value=2, help_text="0 unknown, 1 male, 2 female.")


class MeApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="me_retrieve",
        summary="The customer's profile",
        tags=["me"],
        responses={200: CustomerOutputSerializer, **UNAUTHENTICATED},
        examples=[OpenApiExample("profile", value=CUSTOMER_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return Response(CustomerOutputSerializer(request.user).data)

    @extend_schema(
        operation_id="me_partial_update",
        summary="Change nickname, avatar or gender",
        tags=["me"],
        request=ProfileUpdateInputSerializer,
        responses={200: CustomerOutputSerializer, 400: invalid(("avatar_url", "Enter a valid URL.")),
                   **UNAUTHENTICATED, **BODY_ERRORS},
        examples=[
            OpenApiExample("request", value={"nickname": "小王", "avatar_url": "https://thirdwx.qlogo.cn/x/132"},
                           request_only=True),
            OpenApiExample("profile", value=CUSTOMER_EXAMPLE, response_only=True),
        ],
    )
    def patch(self, request):
        data = ProfileUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_update_profile(customer=request.user, data=data.validated_data)
        return Response(CustomerOutputSerializer(customer).data)

    @extend_schema(
        operation_id="me_destroy",
        summary="Erase the customer's personal data",
        description="Deletes profile, phone, addresses, cart and subscriptions, strips orders, "
        "payments and the linked official-account follower and its messages of personal data "
        "(order numbers, items and amounts stay), and revokes every token (this one included). "
        "Idempotent on the server; the next call with the same token answers 401.",
        tags=["me"],
        responses={204: OpenApiResponse(description="Erased."), **UNAUTHENTICATED},
    )
    def delete(self, request):
        customer_erase(customer_id=request.user.pk)
        return Response(status=204)


class PhoneInputSerializer(serializers.Serializer):
    code = StrictCharField(max_length=128, help_text="The code from `<button open-type=\"getPhoneNumber\">`.")


class MePhoneApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="me_phone",
        summary="Bind the phone number",
        description="Exchanges a getPhoneNumber code with WeChat; the number is stored encrypted.",
        tags=["me"],
        request=PhoneInputSerializer,
        responses={
            200: CustomerOutputSerializer,
            400: invalid(("code", "This field is required."), extra_codes=("invalid_code",)),
            502: error(502, "wechat_error", description="WeChat refused, or answered for another app."),
            **UNAUTHENTICATED, **WECHAT_DOWN, **BODY_ERRORS,
        },
        examples=[
            OpenApiExample("request", value={"code": "e31968a7f94cc5ee25fafc2aef2773f0bb8c3937b22520eb8ee345274d00c144"},
                           request_only=True),
            OpenApiExample("profile", value=CUSTOMER_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request):
        data = PhoneInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_bind_phone(customer=request.user, code=data.validated_data["code"])
        return Response(CustomerOutputSerializer(customer).data)


SUBSCRIBE_ANSWERS = ["accept", "reject", "ban", "filter"]


class SubscriptionsInputSerializer(serializers.Serializer):
    template_ids = serializers.ListField(
        child=StrictCharField(max_length=64), min_length=1, max_length=3,
        help_text="The tmplIds passed to wx.requestSubscribeMessage (at most 3).",
    )
    result = serializers.DictField(
        child=StrictCharField(max_length=64),
        help_text='What wx.requestSubscribeMessage returned: `{"<template id>": "accept"}`; '
        "`errMsg` is ignored.",
    )

    def to_internal_value(self, data):
        # errMsg is WeChat's status line, of any length ("requestSubscribeMessage:fail ..."):
        # drop it before the answers are checked, as the schema promises.
        if isinstance(data, Mapping) and isinstance(data.get("result"), Mapping):
            data = {**data, "result": {k: v for k, v in data["result"].items() if k != "errMsg"}}
        return super().to_internal_value(data)

    def validate(self, attrs):
        result = attrs["result"]
        unknown = set(result) - set(attrs["template_ids"])
        if unknown:
            raise serializers.ValidationError({"result": [f"Not among template_ids: {', '.join(sorted(unknown))}."]})
        bad = sorted({v for v in result.values() if v not in SUBSCRIBE_ANSWERS})
        if bad:
            raise serializers.ValidationError(
                {"result": [f"Unknown answer {', '.join(bad)}; expected one of {', '.join(SUBSCRIBE_ANSWERS)}."]}
            )
        attrs["result"] = result
        return attrs


class SubscriptionGrantOutputSerializer(serializers.Serializer):
    template_id = serializers.CharField()
    available = serializers.IntegerField(help_text="Sends still allowed for this template.")
    last_result = serializers.CharField()


class MeSubscriptionsApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="me_subscriptions",
        summary="Record what wx.requestSubscribeMessage returned",
        description="Each `accept` grants one send of that template.",
        tags=["me"],
        request=SubscriptionsInputSerializer,
        responses={200: SubscriptionGrantOutputSerializer(many=True),
                   400: invalid(("result", "Not among template_ids: T2.")), **UNAUTHENTICATED, **BODY_ERRORS},
        examples=[
            OpenApiExample("request", value={"template_ids": ["T1", "T2"], "result": {"T1": "accept", "T2": "reject"}},
                           request_only=True),
            OpenApiExample("grant", value={"template_id": "T1", "available": 1, "last_result": "accept"},
                           response_only=True),
        ],
    )
    def post(self, request):
        data = SubscriptionsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grants = subscription_record(customer=request.user, **data.validated_data)
        return Response(SubscriptionGrantOutputSerializer(grants, many=True).data)


class _ExportProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    openid = serializers.CharField()
    unionid = serializers.CharField()
    nickname = serializers.CharField()
    avatar_url = serializers.CharField()
    gender = serializers.IntegerField()
    phone = serializers.CharField(help_text="In full: this is the customer's own copy.")
    phone_country_code = serializers.CharField()
    created_at = serializers.CharField()
    last_login_at = serializers.CharField(allow_null=True)


class _ExportFollowerSerializer(serializers.Serializer):
    openid = serializers.CharField()


class _ExportCartItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    title = serializers.CharField()


class _ExportOrderSerializer(serializers.Serializer):
    order_no = serializers.CharField()
    status = serializers.CharField()
    total_fen = serializers.IntegerField()
    remark = serializers.CharField()
    items = serializers.ListField(child=serializers.DictField())
    address = serializers.DictField(child=serializers.CharField())
    created_at = serializers.CharField()
    paid_at = serializers.CharField(allow_null=True)


class _ExportPaymentSerializer(serializers.Serializer):
    order_no = serializers.CharField()
    out_trade_no = serializers.CharField()
    amount_fen = serializers.IntegerField()
    status = serializers.CharField()
    transaction_id = serializers.CharField()
    paid_at = serializers.CharField(allow_null=True)


class _ExportMessageSerializer(serializers.Serializer):
    at = serializers.CharField()
    direction = serializers.CharField(help_text="in or out")
    msg_type = serializers.CharField()
    event = serializers.CharField()
    content = serializers.CharField()
    reply = serializers.CharField()
    has_media = serializers.BooleanField()


class _ExportConsentSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="subscribe_message, phone_number or follow_official_account")
    subject = serializers.CharField()
    answer = serializers.CharField()
    at = serializers.CharField(allow_null=True)


class _ExportNoticeSerializer(serializers.Serializer):
    order_no = serializers.CharField()
    event = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    message = serializers.DictField()
    created_at = serializers.CharField()
    sent_at = serializers.CharField(allow_null=True)


class CustomerExportOutputSerializer(serializers.Serializer):
    """One key per registered section (wxbackend.privacy); apps may add sections."""

    profile = _ExportProfileSerializer()
    official_account = _ExportFollowerSerializer(allow_null=True)
    addresses = AddressOutputSerializer(many=True)
    cart_items = _ExportCartItemSerializer(many=True)
    subscriptions = SubscriptionGrantOutputSerializer(many=True)
    consents = _ExportConsentSerializer(many=True)
    orders = _ExportOrderSerializer(many=True)
    payments = _ExportPaymentSerializer(many=True)
    conversations = _ExportMessageSerializer(many=True)
    notices = _ExportNoticeSerializer(many=True)


class MeExportApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="me_export",
        summary="Everything we hold about the customer, as JSON",
        tags=["me"],
        responses={200: CustomerExportOutputSerializer, **UNAUTHENTICATED},
        examples=[OpenApiExample("export", response_only=True, value={
            "profile": {"id": 7, "openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "unionid": "", "nickname": "小王",
                        "avatar_url": "", "gender": 0, "phone": "13800138000", "phone_country_code": "86",
                        "created_at": "2026-11-25T14:30:00+08:00", "last_login_at": "2026-11-25T14:30:00+08:00"},
            "official_account": None,
            "addresses": [],
            "cart_items": [{"id": 3, "sku_id": 31, "quantity": 2, "title": "316不锈钢保温杯 500ml"}],
            "subscriptions": [{"template_id": "T1", "available": 1, "last_result": "accept"}],
            "consents": [{"kind": "subscribe_message", "subject": "T1", "answer": "accept",
                          "at": "2026-11-25T14:31:00+08:00"}],
            "orders": [], "payments": [], "conversations": [], "notices": [],
        })],
    )
    def get(self, request):
        # The sections as registered (wxbackend.privacy), so an app's new section is exported
        # without a change here; the serializer documents the known ones.
        return Response(customer_export(customer=request.user))
