"""Catalog reads: the category tree, on-shelf products, SKUs, and the product matcher the
official account uses for its replies."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Prefetch, Q, QuerySet

from catalog.cache import catalog_version
from catalog.exceptions import ProductNotFound, SkuUnavailable
from catalog.models import Category, Product, ProductImage, Sku

# `?ordering=` values (the contract's names) to ORDER BY columns; `-id` keeps pages stable.
ORDERINGS = {
    "price_fen": ("price_fen", "id"),
    "-price_fen": ("-price_fen", "-id"),
    "sales": ("sales_count", "id"),
    "-sales": ("-sales_count", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}
DEFAULT_ORDERING = ("sort_order", "-id")


def absolute_url(file, *, build: Callable[[str], str] | None = None) -> str:
    """The absolute URL of a stored file, or "" when there is none.

    `build` is `request.build_absolute_uri` inside a request; elsewhere PUBLIC_BASE_URL."""
    if not file:
        return ""
    url = file.url
    if url.startswith(("http://", "https://")):
        return url
    if build is not None:
        return build(url)
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/" + url.lstrip("/")


def category_tree() -> list[dict]:
    """Active categories as nested dicts `{id, name, sort_order, children}` (one query).

    A category under an inactive parent is hidden with it."""
    rows = list(Category.objects.filter(is_active=True).order_by("sort_order", "id"))
    nodes = {c.id: {"id": c.id, "name": c.name, "sort_order": c.sort_order, "children": []} for c in rows}
    roots = []
    for c in rows:
        if c.parent_id is None:
            roots.append(nodes[c.id])
        elif c.parent_id in nodes:
            nodes[c.parent_id]["children"].append(nodes[c.id])
    return roots


class _CategoryForest:
    """The whole (small) category tree from one query: who is below whom, and which
    categories are hidden (inactive, or below an inactive one)."""

    def __init__(self) -> None:
        self.children: dict[int | None, list[int]] = {}
        self.known: set[int] = set()
        inactive = []
        for cid, parent_id, is_active in Category.objects.values_list("id", "parent_id", "is_active"):
            self.children.setdefault(parent_id, []).append(cid)
            self.known.add(cid)
            if not is_active:
                inactive.append(cid)
        self.hidden: set[int] = set()
        for cid in inactive:
            self.hidden |= self.below(cid)

    def below(self, category_id: int) -> set[int]:
        """The category and every category under it; empty when it does not exist."""
        if category_id not in self.known:
            return set()
        found, todo = set(), [category_id]
        while todo:
            cid = todo.pop()
            if cid in found:
                continue
            found.add(cid)
            todo.extend(self.children.get(cid, ()))
        return found


def category_hidden_ids() -> set[int]:
    """Inactive categories and every category below one: their products are not for sale,
    as the category tree does not show them (one query)."""
    return _CategoryForest().hidden


def product_list(*, q: str = "", category_id: int | None = None, ordering: str = "") -> QuerySet[Product]:
    """On-shelf products with at least one SKU, annotated with `price_fen` (lowest SKU price).

    `q` matches a substring of the title, subtitle or keywords (Chinese included);
    `category_id` includes its sub-categories. Products in a hidden category (inactive, or
    under an inactive one) are left out. Three queries per page: the category tree, count
    and rows."""
    qs = Product.objects.filter(is_on_shelf=True).annotate(price_fen=Min("skus__price_fen"))
    qs = qs.filter(price_fen__isnull=False)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(subtitle__icontains=q) | Q(keywords__icontains=q))
    forest = _CategoryForest()
    if category_id is not None:
        qs = qs.filter(category_id__in=forest.below(category_id) - forest.hidden)
    elif forest.hidden:
        qs = qs.exclude(category_id__in=forest.hidden)
    return qs.order_by(*ORDERINGS.get(ordering, DEFAULT_ORDERING)).only(
        "id", "title", "subtitle", "cover", "sales_count", "category_id"
    )


def product_get_on_shelf(*, product_id: int) -> Product:
    """One on-shelf product with at least one SKU in a visible category (what the list
    shows), with its SKUs and gallery (four queries); raises ProductNotFound."""
    product = (
        Product.objects.filter(pk=product_id, is_on_shelf=True)
        .exclude(category_id__in=category_hidden_ids())
        .annotate(price_fen=Min("skus__price_fen"))
        .filter(price_fen__isnull=False)
        .prefetch_related(
            Prefetch("skus", queryset=Sku.objects.order_by("id")),
            Prefetch("images", queryset=ProductImage.objects.order_by("sort_order", "id")),
        )
        .first()
    )
    if product is None:
        raise ProductNotFound()
    return product


def sku_get_on_sale(*, sku_id: int) -> Sku:
    """A SKU whose product is on the shelf in a visible category; raises SkuUnavailable
    otherwise."""
    return sku_map_on_sale(sku_ids=[sku_id])[sku_id]


def sku_map_on_sale(*, sku_ids: Iterable[int]) -> dict[int, Sku]:
    """{id: SKU} with their products, for SKUs whose product is on the shelf in a visible
    category (two queries); raises SkuUnavailable naming every other id."""
    sku_ids = list(sku_ids)
    skus = {
        sku.id: sku
        for sku in Sku.objects.select_related("product")
        .filter(pk__in=sku_ids, product__is_on_shelf=True)
        .exclude(product__category_id__in=category_hidden_ids())
    }
    missing = [sku_id for sku_id in sku_ids if sku_id not in skus]
    if missing:
        names = ", ".join(str(sku_id) for sku_id in missing)
        raise SkuUnavailable(f"SKU {names} does not exist or is not on sale.", sku_ids=missing)
    return skus


# --- Product matching for the official account's replies ----------------------------------

MAX_MATCH_TEXT = 100
MIN_TERM_CHARS = 2
_SPLIT = re.compile(r"[\s,，、;；/|]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ProductMatch:
    id: int
    title: str
    price_fen: int
    cover_url: str
    page_path: str


def _terms(title: str, subtitle: str, keywords: str) -> dict[str, int]:
    """Words that name a product, each with a weight: the merchant's keywords count most,
    then the title, then the tails of its Chinese runs (不锈钢保温杯 → 保温杯, 温杯 ...),
    since Chinese product names end in the head noun a customer asks for."""
    terms: dict[str, int] = {}

    def add(term: str, weight: int) -> None:
        term = term.strip().lower()
        if len(term) >= MIN_TERM_CHARS and weight > terms.get(term, 0):
            terms[term] = weight

    for word in _SPLIT.split(keywords):
        add(word, 3)
    for text in (title, subtitle):
        add(text, 2)
        for word in _SPLIT.split(text):
            add(word, 2)
    for run in _CJK_RUN.findall(title):
        for start in range(1, len(run) - 1):
            add(run[start:], 1)
    return terms


# This process's copy of the newest index: (catalog version, index). The index of a given
# version never changes, so the copy is exact; a message then costs one cache round trip (the
# version) instead of two plus unpickling the whole index.
_local_index: tuple[int, list] | None = None


def _match_index() -> list[tuple[int, str, int, str, dict[str, int]]]:
    """(id, title, sales, haystack, terms) of on-shelf products, cached per catalog version
    (in this process, then in the shared cache)."""
    global _local_index
    version = catalog_version()
    local = _local_index
    if local is not None and local[0] == version:
        return local[1]
    key = f"catalog:match-index:{version}"
    index = cache.get(key)
    if index is None:
        rows = (
            Product.objects.filter(is_on_shelf=True, skus__isnull=False)
            .exclude(category_id__in=category_hidden_ids())
            .distinct()
            .values_list("id", "title", "subtitle", "keywords", "sales_count")
        )
        index = [
            (pid, title, sales, f"{title} {subtitle} {keywords}".lower(), _terms(title, subtitle, keywords))
            for pid, title, subtitle, keywords, sales in rows
        ]
        cache.set(key, index, timeout=3600)
    _local_index = (version, index)
    return index


def product_matches(*, text: str, limit: int = 1) -> list[ProductMatch]:
    """On-shelf products named in a customer's free text, best first.

    A product matches when one of its terms (keywords, title, title tails) occurs in the text
    (`有没有保温杯？` finds "316不锈钢保温杯 500ml"), or when the text occurs in its title,
    subtitle or keywords. Longer and merchant-given terms rank first, then sales. The text is
    cut to 100 characters and the index is built once per catalog version, so the work per
    call is bounded by the catalog's size."""
    needle = _NOISE.sub("", (text or "")[:MAX_MATCH_TEXT]).lower()
    if len(needle) < MIN_TERM_CHARS or limit <= 0:
        return []
    scored = []
    for pid, _title, sales, haystack, terms in _match_index():
        best = 0
        for term, weight in terms.items():
            if term in needle:
                best = max(best, len(term) * 10 + weight)
        if needle in haystack:
            best = max(best, len(needle) * 10 + 2)
        if best:
            scored.append((-best, -sales, pid))
    scored.sort()
    ids = [pid for _, _, pid in scored[:limit]]
    if not ids:
        return []
    products = {
        p.id: p
        for p in Product.objects.filter(pk__in=ids).annotate(price_fen=Min("skus__price_fen"))
    }
    return [
        ProductMatch(
            id=p.id,
            title=p.title,
            price_fen=p.price_fen,
            cover_url=absolute_url(p.cover),
            page_path=f"pages/product/detail?id={p.id}",
        )
        for p in (products.get(pid) for pid in ids)
        if p is not None and p.price_fen is not None
    ]
