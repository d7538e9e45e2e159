"""Model saves and deletes bump the catalog version (bulk writes bump in their services);
SKU saves and deletes also refresh their product's lowest price, and picture changes the
product's image fingerprints (photo questions)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalog.cache import catalog_version_bump
from catalog.models import Category, Product, ProductImage, Sku
from catalog.prices import product_lowest_price_refresh
from catalog.services import product_image_hashes_refresh


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


@receiver(post_save, sender=Product)
def _product_saved(sender, instance: Product, update_fields=None, raw=False, **kwargs) -> None:
    # Counters (sales, prices) save with update_fields: only a change of cover re-fingerprints.
    if raw or (update_fields is not None and "cover" not in update_fields):
        return
    product_image_hashes_refresh(product_id=instance.pk)


@receiver(post_save, sender=ProductImage)
@receiver(post_delete, sender=ProductImage)
def _gallery_changed(sender, instance: ProductImage, raw=False, **kwargs) -> None:
    if raw or not Product.objects.filter(pk=instance.product_id).exists():
        return  # the product itself is being deleted (its fingerprints go with it)
    product_image_hashes_refresh(product_id=instance.product_id)
