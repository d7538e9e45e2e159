"""Public catalog endpoints: the category tree, the product list and product details."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers

from catalog.cache import catalog_versions
from catalog.selectors import ORDERINGS, absolute_url, category_tree, product_get_on_shelf, product_list
from miniprogram_api.api.common import (
    NOT_FOUND,
    NOT_MODIFIED,
    CatalogCachedApi,
    CatalogPagination,
    SkuAttributesField,
    error,
    invalid,
    paginated,
)
from wxbackend.api import Pagination


class _AbsoluteUrlMixin:
    def _url(self, file) -> str:
        request = self.context.get("request")
        return absolute_url(file, build=request.build_absolute_uri if request else None)


class CategoryNodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sort_order = serializers.IntegerField()


# Recursive: each node holds its sub-categories.
CategoryNodeSerializer._declared_fields["children"] = CategoryNodeSerializer(many=True)


class CategoryListApi(CatalogCachedApi):
    @extend_schema(
        operation_id="categories_list",
        summary="The category tree",
        description="Active categories, roots first by sort order, each with its `children`. "
        "Cached per catalog version; revalidate with `If-None-Match`.",
        tags=["catalog"],
        auth=[],
        responses={
            200: CategoryNodeSerializer(many=True),
            304: NOT_MODIFIED,
        },
        examples=[
            OpenApiExample(
                "tree",
                # drf-spectacular wraps examples of list responses in the list itself.
                value={"id": 1, "name": "杯壶", "sort_order": 0, "children": [
                    {"id": 4, "name": "保温杯", "sort_order": 0, "children": []}]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        return self.cached_response(CategoryNodeSerializer(category_tree(), many=True).data)


class ProductListInputSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=50,
                              help_text="Substring of the title, subtitle or keywords (Chinese works).")
    category = serializers.IntegerField(required=False, min_value=1, help_text="Category id; includes sub-categories.")
    ordering = serializers.ChoiceField(required=False, allow_blank=True, choices=list(ORDERINGS),
                                       help_text="`price_fen`, `sales` or `created`; prefix `-` for descending. "
                                       "Empty or absent: the merchant's order.")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=Pagination.max_page_size,
                                         help_text="Default 20.")


class ProductListItemSerializer(_AbsoluteUrlMixin, serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    subtitle = serializers.CharField()
    price_fen = serializers.IntegerField(help_text="Lowest SKU price, in fen.")
    cover_url = serializers.SerializerMethodField()
    sales_count = serializers.IntegerField()
    category_id = serializers.IntegerField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_cover_url(self, obj) -> str:
        return self._url(obj.cover)


PRODUCT_EXAMPLE = {"id": 12, "title": "316不锈钢保温杯 500ml", "subtitle": "24小时保温",
                   "price_fen": 12900, "cover_url": "https://shop.example.com/media/products/covers/12.png",
                   "sales_count": 321, "category_id": 4}


class ProductListApi(CatalogCachedApi):
    cache_params = ("q", "category", "ordering", "page", "page_size")

    @extend_schema(
        operation_id="products_list",
        summary="On-shelf products, paginated",
        description="Only products on the shelf. `price_fen` is the lowest SKU price. Cached per "
        "catalog version (never stale); revalidate with `If-None-Match`.",
        tags=["catalog"],
        auth=[],
        parameters=[ProductListInputSerializer],
        responses={
            200: paginated(ProductListItemSerializer, "PaginatedProductList"),
            304: NOT_MODIFIED,
            400: invalid(("ordering", '"price" is not a valid choice.')),
            404: error(404, "not_found", description="`page` past the last page."),
        },
        examples=[
            OpenApiExample(
                "page",
                value={"count": 42, "next": "https://shop.example.com/api/v1/products/?page=2",
                       "previous": None, "results": [PRODUCT_EXAMPLE]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        params = ProductListInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        qs = product_list(
            q=params.validated_data.get("q", "").strip(),
            category_id=params.validated_data.get("category"),
            ordering=params.validated_data.get("ordering", ""),
        )
        paginator = CatalogPagination(query=self.cache_query(request), view=self, count_params=("q", "category"))
        page = paginator.paginate_queryset(qs, request, view=self)
        data = ProductListItemSerializer(page, many=True, context={"request": request}).data
        return self.cached_response(paginator.get_paginated_response(data).data)


class SkuOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    attributes = SkuAttributesField(help_text='e.g. {"颜色": "红", "尺码": "M"}')
    price_fen = serializers.IntegerField()
    original_price_fen = serializers.IntegerField(allow_null=True)
    stock = serializers.IntegerField()


class ProductDetailOutputSerializer(ProductListItemSerializer):
    description = serializers.CharField()
    images = serializers.SerializerMethodField()
    skus = SkuOutputSerializer(many=True)

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_images(self, obj) -> list[str]:
        return [self._url(image.image) for image in obj.images.all()]


class ProductDetailApi(CatalogCachedApi):
    def cache_versions(self, kwargs) -> tuple[int, int | None]:
        # The page shows stock: a sale of one of its SKUs retires it (and only it).
        return catalog_versions(product_id=kwargs["pk"])

    @extend_schema(
        operation_id="products_retrieve",
        summary="One on-shelf product with its SKUs",
        tags=["catalog"],
        auth=[],
        responses={200: ProductDetailOutputSerializer, 304: NOT_MODIFIED, **NOT_FOUND},
        examples=[
            OpenApiExample(
                "product",
                value={**PRODUCT_EXAMPLE, "description": "双层真空，316不锈钢内胆。",
                       "images": ["https://shop.example.com/media/products/gallery/12-1.png"],
                       "skus": [{"id": 31, "code": "CUP-316-500-RED", "attributes": {"颜色": "红"},
                                 "price_fen": 12900, "original_price_fen": 15900, "stock": 12}]},
                response_only=True,
            )
        ],
    )
    def get(self, request, pk: int):
        product = product_get_on_shelf(product_id=pk)
        return self.cached_response(ProductDetailOutputSerializer(product, context={"request": request}).data)
