"""CSV/XLSX import and export of products and SKUs (django-import-export).

Imports may save rows in bulk, past the model signals, so each resource bumps the catalog
version once the import has run (dry runs included: cheap, and never stale)."""

from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget, JSONWidget

from catalog.models import Category, Product, Sku
from catalog.prices import product_lowest_price_refresh
from catalog.services import catalog_import_finished


class _BumpAfterImport:
    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        catalog_import_finished()


class ProductResource(_BumpAfterImport, resources.ModelResource):
    category = fields.Field(
        attribute="category", column_name="category_id", widget=ForeignKeyWidget(Category, "pk")
    )

    class Meta:
        model = Product
        fields = (
            "id", "title", "subtitle", "category", "keywords", "is_on_shelf", "sort_order",
            "sales_count", "description",
        )
        export_order = fields
        skip_unchanged = True
        report_skipped = False


class SkuResource(_BumpAfterImport, resources.ModelResource):
    def after_import(self, dataset, result, **kwargs):
        if not kwargs.get("dry_run"):
            codes = [code for code in dataset["code"] if code]
            product_lowest_price_refresh(product_ids=Sku.objects.filter(code__in=codes).values_list("product_id", flat=True))
        super().after_import(dataset, result, **kwargs)

    product = fields.Field(attribute="product", column_name="product_id", widget=ForeignKeyWidget(Product, "pk"))
    attributes = fields.Field(attribute="attributes", column_name="attributes", widget=JSONWidget())

    class Meta:
        model = Sku
        import_id_fields = ("code",)
        clean_model_instances = True  # Sku.clean: attributes must be {name: text}
        fields = ("code", "product", "attributes", "price_fen", "original_price_fen", "stock")
        export_order = fields
        skip_unchanged = True
        report_skipped = False
