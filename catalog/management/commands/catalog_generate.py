"""Generate a large catalog for benchmarks: `manage.py catalog_generate --products 100000`.

Products go into their own top category (`--category`, default 规模测试), on the shelf, each
with two SKUs, titles drawn from a fixed vocabulary (so a search for one head noun such as
保温杯 finds about one product in twenty, at every size). Idempotent: it tops the category up
to the number asked for and never deletes. Not for a shop's real database."""

import random

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from catalog.cache import catalog_version_bump
from catalog.models import Category, Product, Sku
from catalog.prices import product_lowest_price_refresh

HEADS = [
    ("保温杯", "水杯 杯子"), ("玻璃杯", "茶杯"), ("保温壶", "水壶"), ("咖啡壶", "分享壶"), ("帆布包", "托特包"),
    ("双肩包", "背包 书包"), ("登机箱", "行李箱 拉杆箱"), ("收纳袋", "旅行"), ("零钱包", "钱包"),
    ("龙井茶", "绿茶 茶叶"), ("普洱茶饼", "熟茶 茶叶"), ("大红袍", "岩茶 礼盒"), ("茉莉花茶", "花茶"),
    ("白毫银针", "白茶"), ("钢笔", "文具 书写"), ("笔记本", "本子 手账"), ("台灯", "护眼灯"),
    ("雨伞", "折叠伞 遮阳伞"), ("毛巾", "浴巾 纯棉"), ("拖鞋", "居家鞋"),
]
MATERIALS = ["316不锈钢", "304不锈钢", "双层玻璃", "陶瓷", "帆布", "真皮", "尼龙", "纯棉", "竹制", "钛合金"]
STYLES = ["轻便", "商务", "儿童", "大容量", "迷你", "复古", "简约", "户外", "便携", "经典"]
SIZES = ["250ml", "350ml", "500ml", "1L", "小号", "中号", "大号", "礼盒装", "两件套", "标准款"]
BATCH = 5000


class Command(BaseCommand):
    help = "Top a benchmark category up to N on-shelf products with two SKUs each."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, required=True)
        parser.add_argument("--category", default="规模测试")
        parser.add_argument("--seed", type=int, default=14)

    def handle(self, *, products: int, category: str, seed: int, **options):
        root, _ = Category.objects.get_or_create(name=category, parent=None)
        have = Product.objects.filter(category=root).count()
        rng = random.Random(seed + have)
        for start in range(have, products, BATCH):
            count = min(BATCH, products - start)
            with transaction.atomic():
                created = Product.objects.bulk_create(_product(root, start + n, rng) for n in range(count))
                Sku.objects.bulk_create(
                    Sku(product=p, code=f"GEN-{p.pk}-{i}", attributes={"款式": style}, stock=rng.randrange(0, 200),
                        price_fen=rng.randrange(990, 99900) + i * 1000)
                    for p in created for i, style in enumerate(("标准", "升级"))
                )
                product_lowest_price_refresh(product_ids=[p.pk for p in created])
            self.stdout.write(f"{start + count} / {products}")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_product")  # fresh statistics for the planner
            cursor.execute("ANALYZE catalog_sku")
        catalog_version_bump()
        self.stdout.write(self.style.SUCCESS(f"{category}: {max(have, products)} products"))


def _product(category: Category, n: int, rng: random.Random) -> Product:
    head, synonyms = rng.choice(HEADS)
    return Product(
        category=category,
        title=f"{rng.choice(STYLES)}{rng.choice(MATERIALS)}{head} {rng.choice(SIZES)} {n:06d}",
        subtitle=rng.choice(["新品上市", "限时优惠", "品质之选", "店长推荐", ""]),
        keywords=f"{head} {synonyms}",
        is_on_shelf=True,
        sort_order=rng.randrange(0, 100),
        sales_count=rng.randrange(0, 5000),
    )
