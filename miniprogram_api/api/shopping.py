"""The customer's cart and delivery addresses. Every id is looked up within the customer's
own rows: another customer's ids answer 404 like ids that do not exist."""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import absolute_url, category_hidden_ids
from miniprogram_api.api.common import (
    BODY_ERRORS,
    NOT_FOUND,
    UNAUTHENTICATED,
    SkuAttributesField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
    invalid,
)
from orders.models import CART_MAX_QUANTITY
from orders.selectors import address_get, address_list, cart_item_list
from orders.services import (
    address_create,
    address_delete,
    address_update,
    cart_item_add,
    cart_item_delete,
    cart_item_update,
)
from wxbackend.api import CustomerRateThrottle

# --- Cart ---------------------------------------------------------------------------------------

QUANTITY_HELP = f"1–{CART_MAX_QUANTITY}."


class CartItemAddInputSerializer(serializers.Serializer):
    sku_id = StrictIntegerField(min_value=1, max_value=2**53)
    quantity = StrictIntegerField(min_value=1, max_value=CART_MAX_QUANTITY, help_text=QUANTITY_HELP)


class CartItemUpdateInputSerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=CART_MAX_QUANTITY, help_text=QUANTITY_HELP)


class CartItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    product_id = serializers.IntegerField(source="sku.product_id")
    title = serializers.CharField(source="sku.product.title")
    cover_url = serializers.SerializerMethodField()
    attributes = SkuAttributesField(source="sku.attributes")
    price_fen = serializers.IntegerField(source="sku.price_fen")
    stock = serializers.IntegerField(source="sku.stock")
    is_available = serializers.SerializerMethodField(
        help_text="False once the product left the shelf or its category was switched off."
    )
    line_total_fen = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_cover_url(self, obj) -> str:
        return absolute_url(obj.sku.product.cover, build=self.context["request"].build_absolute_uri)

    def get_is_available(self, obj) -> bool:
        # One query for the whole list: the context is shared by every line.
        hidden = self.context.get("hidden_category_ids")
        if hidden is None:
            hidden = self.context["hidden_category_ids"] = category_hidden_ids()
        return obj.sku.product.is_on_shelf and obj.sku.product.category_id not in hidden

    def get_line_total_fen(self, obj) -> int:
        return obj.sku.price_fen * obj.quantity


CART_ITEM_EXAMPLE = {"id": 3, "sku_id": 31, "quantity": 2, "product_id": 12, "title": "316不锈钢保温杯 500ml",
                     "cover_url": "https://shop.example.com/media/products/covers/12.png",
                     "attributes": {"颜色": "红"}, "price_fen": 12900, "stock": 12, "is_available": True,
                     "line_total_fen": 25800}
QUANTITY_ERROR = ("quantity", "Ensure this value is less than or equal to 99.")


class CartItemListApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="cart_items_list",
        summary="The cart's lines, newest first",
        tags=["cart"],
        responses={200: CartItemOutputSerializer(many=True), **UNAUTHENTICATED},
        examples=[OpenApiExample("cart line", value=CART_ITEM_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        items = cart_item_list(customer_id=request.user.pk)
        return Response(CartItemOutputSerializer(items, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="cart_items_create",
        summary="Add a SKU to the cart",
        description="A SKU already in the cart gets the quantities added up (201 for a new line, "
        "200 for a merged one). A line holds 1–99.",
        tags=["cart"],
        request=CartItemAddInputSerializer,
        responses={
            201: CartItemOutputSerializer,
            200: CartItemOutputSerializer,
            400: invalid(QUANTITY_ERROR, extra_codes=("sku_unavailable", "quantity_exceeded", "cart_full")),
            **UNAUTHENTICATED, **BODY_ERRORS,
        },
        examples=[
            OpenApiExample("request", value={"sku_id": 31, "quantity": 2}, request_only=True),
            OpenApiExample("line", value=CART_ITEM_EXAMPLE, response_only=True, status_codes=["201", "200"]),
        ],
    )
    def post(self, request):
        data = CartItemAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item, created = cart_item_add(customer_id=request.user.pk, **data.validated_data)
        return Response(CartItemOutputSerializer(item, context={"request": request}).data,
                        status=201 if created else 200)


class CartItemDetailApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="cart_items_partial_update",
        summary="Set a line's quantity",
        tags=["cart"],
        request=CartItemUpdateInputSerializer,
        responses={200: CartItemOutputSerializer, 400: invalid(QUANTITY_ERROR), **UNAUTHENTICATED, **NOT_FOUND,
                   **BODY_ERRORS},
        examples=[
            OpenApiExample("request", value={"quantity": 3}, request_only=True),
            OpenApiExample("line", value={**CART_ITEM_EXAMPLE, "quantity": 3, "line_total_fen": 38700},
                           response_only=True),
        ],
    )
    def patch(self, request, pk: int):
        data = CartItemUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = cart_item_update(customer_id=request.user.pk, item_id=pk, quantity=data.validated_data["quantity"])
        return Response(CartItemOutputSerializer(item, context={"request": request}).data)

    @extend_schema(
        operation_id="cart_items_destroy",
        summary="Remove a line",
        tags=["cart"],
        responses={204: OpenApiResponse(description="Removed."), **UNAUTHENTICATED, **NOT_FOUND},
    )
    def delete(self, request, pk: int):
        cart_item_delete(customer_id=request.user.pk, item_id=pk)
        return Response(status=204)


# --- Addresses ----------------------------------------------------------------------------------

# [0-9], not \d: Python's \d matches every script's digits ("13８００１３８０００").
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?$")


def _validate_tel(value: str) -> str:
    value = value.strip().replace(" ", "")
    if value.startswith("+86"):
        value = value[3:].lstrip("-")
    if not (MOBILE.match(value) or LANDLINE.match(value)):
        raise serializers.ValidationError("Enter a mainland mobile (11 digits) or landline number, e.g. 020-81167888.")
    return value


class AddressInputSerializer(serializers.Serializer):
    user_name = StrictCharField(max_length=64)
    tel_number = StrictCharField(max_length=32)
    province_name = StrictCharField(max_length=32)
    city_name = StrictCharField(max_length=32)
    county_name = StrictCharField(max_length=32)
    detail_info = StrictCharField(max_length=200)
    postal_code = StrictRegexField(r"^[0-9]{6}$", required=False, allow_blank=True, max_length=16)
    national_code = StrictRegexField(r"^[0-9]{6}$", required=False, allow_blank=True, max_length=16)
    is_default = StrictBooleanField(required=False)

    def validate_tel_number(self, value: str) -> str:
        return _validate_tel(value)


class AddressOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_name = serializers.CharField()
    tel_number = serializers.CharField()
    province_name = serializers.CharField()
    city_name = serializers.CharField()
    county_name = serializers.CharField()
    detail_info = serializers.CharField()
    postal_code = serializers.CharField()
    national_code = serializers.CharField()
    is_default = serializers.BooleanField()


ADDRESS_REQUEST = {"user_name": "张三", "tel_number": "020-81167888", "province_name": "广东省",
                   "city_name": "广州市", "county_name": "海珠区", "detail_info": "新港中路397号",
                   "postal_code": "510000", "national_code": "440105"}
ADDRESS_EXAMPLE = {"id": 5, **ADDRESS_REQUEST, "is_default": True}
ADDRESS_INVALID = invalid(("tel_number", "Enter a mainland mobile (11 digits) or landline number, e.g. 020-81167888."),
                          extra_codes=("address_limit",))


class AddressListApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="addresses_list",
        summary="The customer's addresses, default first",
        tags=["addresses"],
        responses={200: AddressOutputSerializer(many=True), **UNAUTHENTICATED},
        examples=[OpenApiExample("address", value=ADDRESS_EXAMPLE, response_only=True)],
    )
    def get(self, request):
        return Response(AddressOutputSerializer(address_list(customer_id=request.user.pk), many=True).data)

    @extend_schema(
        operation_id="addresses_create",
        summary="Add an address (fields as wx.chooseAddress returns them, in snake case)",
        description="The first address, or one sent with `is_default: true`, becomes the only default.",
        tags=["addresses"],
        request=AddressInputSerializer,
        responses={201: AddressOutputSerializer, 400: ADDRESS_INVALID, **UNAUTHENTICATED, **BODY_ERRORS},
        examples=[
            OpenApiExample("request", value=ADDRESS_REQUEST, request_only=True),
            OpenApiExample("address", value=ADDRESS_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request):
        data = AddressInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = address_create(customer_id=request.user.pk, data=data.validated_data)
        return Response(AddressOutputSerializer(address).data, status=201)


class AddressDetailApi(APIView):
    throttle_classes = [CustomerRateThrottle]

    @extend_schema(
        operation_id="addresses_retrieve",
        summary="One address",
        tags=["addresses"],
        responses={200: AddressOutputSerializer, **UNAUTHENTICATED, **NOT_FOUND},
        examples=[OpenApiExample("address", value=ADDRESS_EXAMPLE, response_only=True)],
    )
    def get(self, request, pk: int):
        return Response(AddressOutputSerializer(address_get(customer_id=request.user.pk, address_id=pk)).data)

    @extend_schema(
        operation_id="addresses_partial_update",
        summary="Change an address, or make it the default",
        tags=["addresses"],
        request=AddressInputSerializer(partial=True),
        responses={200: AddressOutputSerializer, 400: ADDRESS_INVALID, **UNAUTHENTICATED, **NOT_FOUND,
                   **BODY_ERRORS},
        examples=[
            OpenApiExample("make default", value={"is_default": True}, request_only=True),
            OpenApiExample("address", value=ADDRESS_EXAMPLE, response_only=True),
        ],
    )
    def patch(self, request, pk: int):
        data = AddressInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = address_update(customer_id=request.user.pk, address_id=pk, data=data.validated_data)
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(
        operation_id="addresses_destroy",
        summary="Delete an address",
        description="When it was the default, the most recently changed address becomes the default.",
        tags=["addresses"],
        responses={204: OpenApiResponse(description="Deleted."), **UNAUTHENTICATED, **NOT_FOUND},
    )
    def delete(self, request, pk: int):
        address_delete(customer_id=request.user.pk, address_id=pk)
        return Response(status=204)
