"""The merchant's back office for the catalog: products with inline SKUs and gallery, bulk
shelf actions, stock edits in the SKU list, search, filters and CSV import/export."""

from django.contrib import admin, messages
from django.db.models import Min, OuterRef, Subquery, Sum
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from catalog.models import Category, Product, ProductImage, Sku
from catalog.money import YuanAdminMixin, yuan
from catalog.resources import ProductResource, SkuResource
from catalog.services import product_set_on_shelf


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    list_filter = ("is_active", "parent")
    search_fields = ("name",)


class SkuInline(YuanAdminMixin, admin.TabularInline):
    model = Sku
    extra = 1
    fields = ("code", "attributes", "price_fen", "original_price_fen", "stock")


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 1
    fields = ("image", "sort_order")


@admin.register(Product)
class ProductAdmin(ImportExportModelAdmin):
    resource_classes = [ProductResource]
    inlines = [SkuInline, ProductImageInline]
    list_display = ("title", "cover_thumb", "category", "lowest_price", "total_stock", "sales_count",
                    "is_on_shelf", "sort_order", "created_at")
    list_filter = ("is_on_shelf", "category", "created_at")
    search_fields = ("title", "subtitle", "keywords", "skus__code")
    list_select_related = ("category",)
    list_per_page = 50
    actions = ["put_on_shelf", "take_off_shelf"]
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        # Subqueries, not joins: a search on SKU codes joins the SKUs again, which would
        # multiply a joined SUM.
        skus = Sku.objects.filter(product=OuterRef("pk")).order_by().values("product")
        return super().get_queryset(request).annotate(
            _lowest_price_fen=Subquery(skus.annotate(v=Min("price_fen")).values("v")),
            _total_stock=Subquery(skus.annotate(v=Sum("stock")).values("v")),
        )

    @admin.display(description=_("cover"))
    def cover_thumb(self, obj):
        if not obj.cover:
            return "-"
        return format_html('<img src="{}" style="height:40px">', obj.cover.url)

    @admin.display(description=_("lowest price"), ordering="_lowest_price_fen")
    def lowest_price(self, obj):
        return yuan(obj._lowest_price_fen)

    @admin.display(description=_("total stock"), ordering="_total_stock")
    def total_stock(self, obj):
        return obj._total_stock

    @admin.action(description=_("Put selected products on the shelf"), permissions=["change"])
    def put_on_shelf(self, request, queryset):
        count = product_set_on_shelf(product_ids=queryset.values_list("pk", flat=True), is_on_shelf=True)
        self.message_user(request, _("%d products put on the shelf.") % count, messages.SUCCESS)

    @admin.action(description=_("Take selected products off the shelf"), permissions=["change"])
    def take_off_shelf(self, request, queryset):
        count = product_set_on_shelf(product_ids=queryset.values_list("pk", flat=True), is_on_shelf=False)
        self.message_user(request, _("%d products taken off the shelf.") % count, messages.SUCCESS)


@admin.register(Sku)
class SkuAdmin(YuanAdminMixin, ImportExportModelAdmin):
    """Stock is edited right in the list (each save bumps the catalog version); prices, in
    yuan, on the SKU's page."""

    resource_classes = [SkuResource]
    list_display = ("code", "product", "attributes", "price", "original_price", "stock")
    list_editable = ("stock",)
    list_filter = ("product__is_on_shelf", "product__category")
    search_fields = ("code", "product__title")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)
    list_per_page = 100

    @admin.display(description=_("price"), ordering="price_fen")
    def price(self, obj):
        return yuan(obj.price_fen)

    @admin.display(description=_("original price"), ordering="original_price_fen")
    def original_price(self, obj):
        return yuan(obj.original_price_fen)
