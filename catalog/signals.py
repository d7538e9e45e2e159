"""Model saves and deletes bump the catalog version (bulk writes bump in their services);
SKU saves and deletes also refresh their product's lowest price."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.cache import catalog_version_bump
from catalog.models import Category, Product, ProductImage, Sku
from catalog.prices import product_lowest_price_refresh


@receiver(post_save, sender=Category)
@receiver(post_save, sender=Product)
@receiver(post_save, sender=ProductImage)
@receiver(post_save, sender=Sku)
@receiver(post_delete, sender=Category)
@receiver(post_delete, sender=Product)
@receiver(post_delete, sender=ProductImage)
@receiver(post_delete, sender=Sku)
def _catalog_changed(sender, **kwargs) -> None:
    catalog_version_bump()


@receiver(post_save, sender=Sku)
@receiver(post_delete, sender=Sku)
def _sku_changed(sender, instance: Sku, **kwargs) -> None:
    product_lowest_price_refresh(product_ids=[instance.product_id])
