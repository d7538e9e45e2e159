"""Demo catalog: 4 top categories (one with sub-categories), 24 products with SKUs, stock
and generated PNG images. Idempotent: products are found by title, SKUs by code, and images
are drawn only where missing."""

import io
import random

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from catalog.models import Category, Product, ProductImage, Sku

# (category, sub-category or None): [(title, subtitle, keywords, [(attributes, price_fen, stock)])]
CATALOG = {
    ("杯壶", "保温杯"): [
        ("316不锈钢保温杯 500ml", "24小时长效保温", "保温杯 水杯 杯子",
         [({"颜色": "红"}, 12900, 50), ({"颜色": "黑"}, 12900, 30), ({"颜色": "白"}, 13900, 0)]),
        ("儿童吸管保温杯 350ml", "防漏吸管 食品级材质", "儿童水杯 保温杯 吸管杯",
         [({"颜色": "粉"}, 9900, 40), ({"颜色": "蓝"}, 9900, 40)]),
        ("商务保温壶 1L", "办公室大容量", "保温壶 水壶", [({"容量": "1L"}, 15900, 20)]),
    ],
    ("杯壶", "玻璃杯"): [
        ("双层玻璃茶杯", "茶水分离", "玻璃杯 茶杯", [({"容量": "300ml"}, 6900, 60), ({"容量": "450ml"}, 7900, 45)]),
        ("耐热玻璃水壶 1.5L", "可直火加热", "玻璃壶 冷水壶", [({}, 8900, 25)]),
        ("手冲咖啡分享壶", "刻度清晰", "咖啡壶 分享壶", [({"容量": "600ml"}, 5900, 35)]),
    ],
    ("箱包", None): [
        ("帆布托特包", "大容量通勤", "帆布包 托特包 包", [({"颜色": "米白"}, 7900, 80), ({"颜色": "藏青"}, 7900, 60)]),
        ("轻便双肩包", "15.6寸电脑仓", "双肩包 背包 书包", [({"颜色": "黑"}, 19900, 30), ({"颜色": "灰"}, 19900, 25)]),
        ("20寸登机箱", "万向轮 TSA海关锁", "行李箱 登机箱 拉杆箱", [({"颜色": "银"}, 39900, 10)]),
        ("旅行收纳袋六件套", "防水面料", "收纳袋 旅行", [({}, 4900, 100)]),
        ("真皮零钱包", "头层牛皮", "钱包 零钱包", [({"颜色": "棕"}, 12900, 15)]),
    ],
    ("茶叶", None): [
        ("明前西湖龙井 250g", "2026年新茶", "龙井 绿茶 茶叶", [({"规格": "250g"}, 36800, 20), ({"规格": "500g"}, 69800, 8)]),
        ("云南普洱熟茶饼 357g", "七年陈", "普洱 熟茶 茶饼", [({}, 25800, 12)]),
        ("武夷山大红袍礼盒", "岩茶 送礼佳品", "大红袍 岩茶 礼盒", [({}, 45800, 6)]),
        ("茉莉花茶 100g", "福州窨制", "花茶 茉莉", [({}, 5800, 70)]),
        ("白毫银针 100g", "福鼎白茶", "白茶 银针", [({}, 29800, 9)]),
    ],
    ("文具", None): [
        ("A5点阵笔记本", "100g道林纸", "笔记本 本子", [({"颜色": "黑"}, 3900, 200), ({"颜色": "红"}, 3900, 150)]),
        ("金属签字笔三支装", "0.5mm 黑色", "签字笔 中性笔 笔", [({}, 2900, 300)]),
        ("实木桌面收纳盒", "胡桃木", "收纳盒 笔筒", [({}, 8900, 40)]),
        ("钢笔礼盒", "F尖 含吸墨器", "钢笔 礼盒", [({"颜色": "深蓝"}, 16800, 18)]),
        ("便利贴组合装", "6色", "便利贴 便签", [({}, 1900, 500)]),
        ("帆布笔袋", "双层大容量", "笔袋 文具袋", [({"颜色": "灰"}, 3500, 90)]),
        ("手账胶带十卷", "和纸胶带", "胶带 手账", [({}, 2500, 120)]),
        ("桌面台历 2027", "每月一图", "台历 日历", [({}, 3200, 60)]),
    ],
}
def _png(seed: int, size: int = 480) -> bytes:
    """A picture of its own for each seed (coloured shapes at seeded places), so that the
    official account's photo questions can tell demo products apart by their pictures."""
    rnd = random.Random(seed)  # noqa: S311  (a drawing, not a secret)
    image = Image.new("RGB", (size, size), tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rnd.randrange(size), rnd.randrange(size)
        box = (x0, y0, x0 + rnd.randrange(40, size // 2), y0 + rnd.randrange(40, size // 2))
        fill = tuple(rnd.randrange(256) for _ in range(3))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=fill)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def load(*, stdout) -> None:
    parents: dict[str, Category] = {}
    n = 0
    for sort, ((top, sub), products) in enumerate(CATALOG.items()):
        if top not in parents:
            parents[top], _ = Category.objects.get_or_create(
                name=top, parent=None, defaults={"sort_order": len(parents)}
            )
        category = parents[top]
        if sub:
            category, _ = Category.objects.get_or_create(name=sub, parent=parents[top], defaults={"sort_order": sort})
        for title, subtitle, keywords, skus in products:
            n += 1
            product, _ = Product.objects.update_or_create(
                title=title,
                defaults={"category": category, "subtitle": subtitle, "keywords": keywords, "is_on_shelf": True,
                          "description": f"{title}：{subtitle}。", "sort_order": n},
            )
            if product.sales_count == 0:
                product.sales_count = (n * 37) % 500
                product.save(update_fields=["sales_count"])
            if not product.cover:
                product.cover.save(f"demo-{n:02d}.png", ContentFile(_png(n * 10)), save=True)
            if not product.images.exists():
                for i in range(2):
                    ProductImage.objects.create(
                        product=product, sort_order=i,
                        image=ContentFile(_png(n * 10 + i + 1), name=f"demo-{n:02d}-{i}.png"),
                    )
            for i, (attributes, price_fen, stock) in enumerate(skus):
                Sku.objects.get_or_create(
                    code=f"DEMO-{n:02d}-{i}",
                    defaults={"product": product, "attributes": attributes, "price_fen": price_fen, "stock": stock,
                              "original_price_fen": price_fen + 2000 if i == 0 else None},
                )
    stdout.write(f"catalog: {Category.objects.count()} categories, {Product.objects.count()} products, "
                 f"{Sku.objects.count()} SKUs")
