"""The customer's orders: create from SKUs and an address, list, read, cancel, confirm
receipt, ask for a refund. Orders are found by `order_no` within the customer's own: another
customer's answers 404 like one that does not exist."""

from datetime import timedelta

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import absolute_url
from miniprogram_api.api.common import (
    BODY_ERRORS,
    NOT_FOUND,
    UNAUTHENTICATED,
    SkuAttributesField,
    StrictCharField,
    StrictIntegerField,
    error,
    invalid,
    paginated,
)
from orders.models import Order
from orders.selectors import order_get, order_list
from orders.services import (
    ORDER_MAX_LINES,
    ORDER_MAX_QUANTITY,
    order_cancel,
    order_confirm_receipt,
    order_create,
    refund_request_create,
)
from payments.services import payment_prepare
from wxbackend.api import CustomerRateThrottle, Pagination

# --- Serializers --------------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    sku_id = StrictIntegerField(min_value=1, max_value=2**53)
    quantity = StrictIntegerField(min_value=1, max_value=ORDER_MAX_QUANTITY, help_text=f"1–{ORDER_MAX_QUANTITY}.")


class OrderCreateInputSerializer(serializers.Serializer):
    items = OrderLineInputSerializer(
        many=True, min_length=1, max_length=ORDER_MAX_LINES,
        help_text=f"1–{ORDER_MAX_LINES} lines, one per SKU. Prices come from the catalog, never from here.",
    )
    address_id = StrictIntegerField(min_value=1, max_value=2**53, help_text="One of the customer's addresses.")
    remark = StrictCharField(max_length=200, required=False, allow_blank=True, help_text="A note to the shop.")

    def validate_items(self, items):
        seen = set()
        for line in items:
            if line["sku_id"] in seen:
                raise serializers.ValidationError(
                    f"SKU {line['sku_id']} appears more than once; send one line per SKU."
                )
            seen.add(line["sku_id"])
        return items


class RefundRequestInputSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=200, help_text="Why the customer wants the money back.")


class OrderItemOutputSerializer(serializers.Serializer):
    sku_id = serializers.IntegerField(allow_null=True, help_text="Null once the SKU was deleted.")
    product_id = serializers.IntegerField()
    title = serializers.CharField()
    sku_code = serializers.CharField()
    attributes = SkuAttributesField()
    image_url = serializers.SerializerMethodField()
    unit_price_fen = serializers.IntegerField()
    quantity = serializers.IntegerField()
    line_total_fen = serializers.IntegerField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_image_url(self, obj) -> str:
        return absolute_url(obj.image, build=self.context["request"].build_absolute_uri)


class OrderAddressOutputSerializer(serializers.Serializer):
    user_name = serializers.CharField()
    tel_number = serializers.CharField()
    province_name = serializers.CharField()
    city_name = serializers.CharField()
    county_name = serializers.CharField()
    detail_info = serializers.CharField()
    postal_code = serializers.CharField()
    national_code = serializers.CharField()


class RefundRequestOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "approved", "declined"])
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decline_reason = serializers.CharField(help_text="Why the shop declined it; empty unless `declined`.")


class OrderOutputSerializer(serializers.Serializer):
    order_no = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.values)
    total_fen = serializers.IntegerField()
    remark = serializers.CharField()
    items = OrderItemOutputSerializer(many=True)
    address = OrderAddressOutputSerializer(source="*")
    carrier = serializers.CharField()
    tracking_no = serializers.CharField()
    refund_request = serializers.SerializerMethodField(help_text="The latest refund request, if any.")
    pay_deadline = serializers.SerializerMethodField(
        help_text="While pending_payment: when the order closes unless paid."
    )
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    refunded_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(RefundRequestOutputSerializer(allow_null=True))
    def get_refund_request(self, obj):
        latest = next(iter(obj.refund_requests.all()), None)  # prefetched, newest first
        return RefundRequestOutputSerializer(latest).data if latest else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_pay_deadline(self, obj):
        if obj.status != Order.Status.PENDING_PAYMENT:
            return None
        deadline = obj.created_at + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)
        return serializers.DateTimeField().to_representation(deadline)


class OrderListInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(required=False, allow_blank=True, choices=Order.Status.values)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=Pagination.max_page_size,
                                         help_text="Default 20.")


# --- Examples and errors ------------------------------------------------------------------------

ORDER_EXAMPLE = {
    "order_no": "2026120222584412345678", "status": "pending_payment", "total_fen": 25800, "remark": "",
    "items": [{"sku_id": 31, "product_id": 12, "title": "316不锈钢保温杯 500ml", "sku_code": "CUP-316-500-RED",
               "attributes": {"颜色": "红"}, "image_url": "https://shop.example.com/media/products/covers/12.png",
               "unit_price_fen": 12900, "quantity": 2, "line_total_fen": 25800}],
    "address": {"user_name": "张三", "tel_number": "020-81167888", "province_name": "广东省",
                "city_name": "广州市", "county_name": "海珠区", "detail_info": "新港中路397号",
                "postal_code": "510000", "national_code": "440105"},
    "carrier": "", "tracking_no": "", "refund_request": None, "pay_deadline": "2026-12-02T23:28:44+08:00",
    "created_at": "2026-12-02T22:58:44+08:00", "paid_at": None, "shipped_at": None, "completed_at": None,
    "closed_at": None, "refunded_at": None,
}
INVALID_TRANSITION = error(409, "invalid_transition", description="`invalid_transition`: not in this status.")


def _out(order, request, status=200) -> Response:
    return Response(OrderOutputSerializer(order, context={"request": request}).data, status=status)


def _actor(request) -> str:
    return f"customer:{request.user.pk}"


# --- Views --------------------------------------------------------------------------------------


class OrderListApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="orders_list",
        summary="The customer's orders, newest first, paginated",
        tags=["orders"],
        parameters=[OrderListInputSerializer],
        responses={
            200: paginated(OrderOutputSerializer, "PaginatedOrderList"),
            400: invalid(("status", '"lost" is not a valid choice.')),
            404: error(404, "not_found", description="`page` past the last page."),
            **UNAUTHENTICATED,
        },
        examples=[OpenApiExample("page", value={"count": 1, "next": None, "previous": None,
                                                "results": [ORDER_EXAMPLE]}, response_only=True)],
    )
    def get(self, request):
        params = OrderListInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        orders = order_list(customer_id=request.user.pk, status=params.validated_data.get("status", ""))
        paginator = Pagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        data = OrderOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="orders_create",
        summary="Order SKUs to one of the customer's addresses",
        description="Prices, titles and the address are copied into the order; `total_fen` is computed "
        "by the server. Stock is reserved for every line or none, and the SKUs bought leave the cart. "
        "The order closes by itself unless paid by `pay_deadline`.",
        tags=["orders"],
        request=OrderCreateInputSerializer,
        responses={
            201: OrderOutputSerializer,
            400: invalid(("items", "SKU 31 appears more than once; send one line per SKU."),
                         extra_codes=("sku_unavailable", "address_unavailable")),
            409: error(409, "out_of_stock", description="`out_of_stock`: the detail names the short SKUs."),
            **UNAUTHENTICATED, **BODY_ERRORS,
        },
        examples=[
            OpenApiExample("request", value={"items": [{"sku_id": 31, "quantity": 2}], "address_id": 5,
                                             "remark": "请周末送货"}, request_only=True),
            OpenApiExample("order", value=ORDER_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        data = OrderCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_create(
            customer_id=request.user.pk,
            lines=[(line["sku_id"], line["quantity"]) for line in data.validated_data["items"]],
            address_id=data.validated_data["address_id"],
            remark=data.validated_data.get("remark", ""),
        )
        return _out(order_get(customer_id=request.user.pk, order_no=order.order_no), request, status=201)


class OrderDetailApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="orders_retrieve",
        summary="One of the customer's orders",
        tags=["orders"],
        responses={200: OrderOutputSerializer, **UNAUTHENTICATED, **NOT_FOUND},
        examples=[OpenApiExample("order", value=ORDER_EXAMPLE, response_only=True)],
    )
    def get(self, request, order_no: str):
        return _out(order_get(customer_id=request.user.pk, order_no=order_no), request)


class OrderCancelApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel an unpaid order",
        description="pending_payment → closed; the stock goes back on sale. Cancelling a closed order "
        "again answers 200 with it unchanged.",
        tags=["orders"],
        request=None,
        responses={200: OrderOutputSerializer, 409: INVALID_TRANSITION, **UNAUTHENTICATED, **NOT_FOUND},
        examples=[OpenApiExample("order", value={**ORDER_EXAMPLE, "status": "closed", "pay_deadline": None,
                                                 "closed_at": "2026-12-02T23:01:02+08:00"}, response_only=True)],
    )
    def post(self, request, order_no: str):
        order = order_get(customer_id=request.user.pk, order_no=order_no)
        order_cancel(order_id=order.id, actor=_actor(request))
        return _out(order_get(customer_id=request.user.pk, order_no=order_no), request)


class OrderConfirmReceiptApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="orders_confirm_receipt",
        summary="Confirm the parcel arrived",
        description="shipped → completed; again on a completed order answers 200 with it unchanged.",
        tags=["orders"],
        request=None,
        responses={200: OrderOutputSerializer, 409: INVALID_TRANSITION, **UNAUTHENTICATED, **NOT_FOUND},
    )
    def post(self, request, order_no: str):
        order = order_get(customer_id=request.user.pk, order_no=order_no)
        order_confirm_receipt(order_id=order.id, actor=_actor(request))
        return _out(order_get(customer_id=request.user.pk, order_no=order_no), request)


class OrderRefundRequestApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="orders_refund_request",
        summary="Ask for a refund",
        description="For paid, shipped or completed orders. Staff approve or decline the request; the "
        "order shows it as `refund_request`. One request may be open at a time.",
        tags=["orders"],
        request=RefundRequestInputSerializer,
        responses={
            201: OrderOutputSerializer,
            400: invalid(("reason", "This field is required.")),
            409: error(409, "refund_not_allowed", "refund_request_open",
                       description="`refund_not_allowed` in other statuses; `refund_request_open` while one waits."),
            **UNAUTHENTICATED, **NOT_FOUND, **BODY_ERRORS,
        },
        examples=[OpenApiExample("request", value={"reason": "尺码不合适"}, request_only=True)],
    )
    def post(self, request, order_no: str):
        data = RefundRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_get(customer_id=request.user.pk, order_no=order_no)
        refund_request_create(order_id=order.id, reason=data.validated_data["reason"])
        return _out(order_get(customer_id=request.user.pk, order_no=order_no), request, status=201)


class PayParamsOutputSerializer(serializers.Serializer):
    """Pass these to `wx.requestPayment` as they are (WeChat's own camelCase names)."""

    appId = serializers.CharField()  # noqa: N815 - WeChat's wire names
    timeStamp = serializers.CharField(help_text="Epoch seconds, as a string.")  # noqa: N815
    nonceStr = serializers.CharField()  # noqa: N815
    package = serializers.CharField(help_text="`prepay_id=…`")
    signType = serializers.ChoiceField(choices=["RSA", "MD5", "HMAC-SHA256"])  # noqa: N815
    paySign = serializers.CharField()  # noqa: N815


class OrderPayApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="orders_pay",
        summary="Get the parameters of wx.requestPayment",
        description="For a `pending_payment` order. Asking again reuses the same WeChat Pay trade "
        "(its prepay lasts until the order's payment deadline). The order becomes `paid` when WeChat "
        "Pay notifies the server, not when the mini-program says so.",
        tags=["orders"],
        request=None,
        responses={
            200: PayParamsOutputSerializer,
            409: error(409, "already_paid", "not_payable",
                       description="`already_paid`: paid already; `not_payable`: closed, or its time is up."),
            502: error(502, "wechat_pay_error", description="WeChat Pay refused the payment."),
            503: error(503, "wechat_pay_unavailable", description="WeChat Pay is unreachable; try again."),
            **UNAUTHENTICATED, **NOT_FOUND,
        },
        examples=[OpenApiExample("v3", response_only=True, value={
            "appId": "wx1234567890abcdef", "timeStamp": "1764057600", "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "package": "prepay_id=wx201410272009395522657a690389285100", "signType": "RSA", "paySign": "oR9d8Puh…",
        })],
    )
    def post(self, request, order_no: str):
        order = order_get(customer_id=request.user.pk, order_no=order_no)
        params = payment_prepare(order_id=order.id, customer_id=request.user.pk,
                                 client_ip=CustomerRateThrottle().get_ident(request))
        return Response(PayParamsOutputSerializer(params).data)
