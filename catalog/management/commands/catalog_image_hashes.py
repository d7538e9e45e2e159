"""Fingerprint every product picture that has none yet (the photo questions' index).

Saving a product or a gallery image does this by itself; bulk imports and
`catalog_generate` bypass the model's saves, so run this after them. Safe to repeat."""

from django.core.management.base import BaseCommand
from django.db.models import Q

from catalog.models import Product
from catalog.services import product_image_hashes_refresh


class Command(BaseCommand):
    help = "Compute the perceptual fingerprints of product pictures that have none."

    def handle(self, *args, **options):
        products = (Product.objects.filter(~Q(cover="") | Q(images__isnull=False)).distinct()
                    .order_by("pk").values_list("pk", flat=True))
        computed = sum(product_image_hashes_refresh(product_id=pk) for pk in products.iterator(chunk_size=1000))
        self.stdout.write(f"{computed} pictures fingerprinted")
