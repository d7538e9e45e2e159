"""The merchant's catalog: a category tree, products with images, and SKUs with price and stock.

Every write to these tables bumps the catalog version (see `catalog.cache`), which keys the
public API's response cache: model saves and deletes through the signals in `signals.py`,
bulk writes (QuerySet.update, imports, stock changes) through the services that make them.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    name = models.CharField(_("name"), max_length=64)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    sort_order = models.IntegerField(_("sort order"), default=0, help_text=_("Smaller comes first."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    title = models.CharField(_("title"), max_length=120)
    subtitle = models.CharField(_("subtitle"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    keywords = models.CharField(
        _("keywords"), max_length=200, blank=True,
        help_text=_("Words customers use for this product, separated by spaces or commas "
                    "(used by the official account's product replies)."),
    )
    cover = models.ImageField(_("cover image"), upload_to="products/covers/", blank=True)
    is_on_shelf = models.BooleanField(_("on shelf"), default=False, db_index=True)
    sort_order = models.IntegerField(_("sort order"), default=0, help_text=_("Smaller comes first."))
    sales_count = models.PositiveIntegerField(_("sales"), default=0)
    # Kept by the SKUs (catalog.prices): NULL while the product has none.
    lowest_price_fen = models.PositiveBigIntegerField(_("lowest price (fen)"), null=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "-id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        # One per `?ordering=` of the shelf (read backwards for the descending ones; `created`
        # has the index of created_at), so a page is read off an index instead of sorting the
        # catalog. `?q=` has a character-pair index too (PostgreSQL only, migration 0002).
        indexes = [
            models.Index(fields=["sort_order", "-id"], condition=Q(is_on_shelf=True), name="product_shelf_default"),
            models.Index(fields=["sales_count", "id"], condition=Q(is_on_shelf=True), name="product_shelf_sales"),
            models.Index(fields=["lowest_price_fen", "id"], condition=Q(is_on_shelf=True), name="product_shelf_price"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # lowest_price_fen is kept from the SKUs by catalog.prices (one UPDATE): saving a
        # product loaded before one of its SKUs changed must not write its stale copy back.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name != "lowest_price_fen"
            ]
        super().save(*args, **kwargs)


class ProductImage(models.Model):
    """One gallery picture of a product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to="products/gallery/")
    sort_order = models.IntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("gallery image")
        verbose_name_plural = _("gallery images")

    def __str__(self) -> str:
        return self.image.name


class Sku(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=64, unique=True)
    attributes = models.JSONField(
        _("attributes"), default=dict, blank=True, help_text=_('For example {"颜色": "红", "尺码": "M"}')
    )
    price_fen = models.PositiveBigIntegerField(_("price"), validators=[MinValueValidator(1)])
    original_price_fen = models.PositiveBigIntegerField(_("original price"), null=True, blank=True)
    stock = models.IntegerField(_("stock"), default=0, validators=[MinValueValidator(0)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "id"]
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        constraints = [
            models.CheckConstraint(condition=Q(price_fen__gt=0), name="catalog_sku_price_positive"),
            # The last line of defence for stock: a conditional UPDATE that would go below
            # zero fails here even if a caller forgot its `stock__gte` guard.
            models.CheckConstraint(condition=Q(stock__gte=0), name="catalog_sku_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        super().clean()
        # The API shows attributes as {name: text}; a list or nested object would break
        # every page that shows this SKU.
        attributes = self.attributes
        if not isinstance(attributes, dict) or not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in attributes.values()
        ):
            raise ValidationError(
                {"attributes": _('Enter an object of names to texts, for example {"颜色": "红", "尺码": "M"}.')}
            )


class ProductImageHash(models.Model):
    """The perceptual fingerprint (catalog.photos) of one picture of a product, its cover or a
    gallery image, named by the stored file. Kept by catalog.services when pictures are saved;
    `manage.py catalog_image_hashes` fills in what bulk writes skipped."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="image_hashes")
    image_name = models.CharField(_("image"), max_length=255)
    phash = models.BigIntegerField(_("perceptual hash"))
    dhash = models.BigIntegerField(_("difference hash"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("image fingerprint")
        verbose_name_plural = _("image fingerprints")
        constraints = [
            models.UniqueConstraint(fields=["product", "image_name"], name="catalog_imagehash_once_per_image"),
        ]

    def __str__(self) -> str:
        return self.image_name
