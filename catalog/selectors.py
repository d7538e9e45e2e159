"""Catalog reads: the category tree, on-shelf products, SKUs, and the product matcher the
official account uses for its replies."""

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F, Min, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL

from catalog.cache import catalog_version
from catalog.exceptions import ProductNotFound, SkuUnavailable
from catalog.matching import MIN_TERM_CHARS, MatchIndex
from catalog.models import Category, Product, ProductImage, ProductImageHash, Sku
from catalog.photos import PhotoIndex, fingerprint_of

logger = logging.getLogger(__name__)

# `?ordering=` values (the contract's names) to ORDER BY columns; `-id` keeps pages stable.
ORDERINGS = {
    "price_fen": ("lowest_price_fen", "id"),
    "-price_fen": ("-lowest_price_fen", "-id"),
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


# The products that hold every pair of adjacent characters of `q`: exactly the expression
# of the index `product_shelf_q` (catalog migration 0002), so that the index answers it.
SEARCH_PAIRS_SQL = (
    "catalog_char_pairs(upper(catalog_product.title::text || ' ' || catalog_product.subtitle::text"
    " || ' ' || catalog_product.keywords::text)) @> catalog_char_pairs(upper(%s))"
)


def product_list(*, q: str = "", category_id: int | None = None, ordering: str = "") -> QuerySet[Product]:
    """On-shelf products with at least one SKU, annotated with `price_fen` (lowest SKU price).

    `q` matches a substring of the title, subtitle or keywords (Chinese included);
    `category_id` includes its sub-categories. Products in a hidden category (inactive, or
    under an inactive one) are left out. Three queries per page: the category tree, count
    and rows.

    Shaped for the shelf's indexes (migrations 0002, 0003): the lowest price is kept on the
    product (`catalog.prices`), not grouped from every product's SKUs, so a page of any
    ordering reads its rows off an index, and `q` goes through the character-pair index
    (PostgreSQL)."""
    qs = Product.objects.filter(is_on_shelf=True, lowest_price_fen__isnull=False)
    if q:
        if len(q) >= 2 and connection.vendor == "postgresql":
            # Constant SQL text; `q` is a bound parameter.
            qs = qs.filter(RawSQL(SEARCH_PAIRS_SQL, [q], output_field=BooleanField()))  # noqa: S611
        qs = qs.filter(Q(title__icontains=q) | Q(subtitle__icontains=q) | Q(keywords__icontains=q))
    forest = _CategoryForest()
    if category_id is not None:
        qs = qs.filter(category_id__in=forest.below(category_id) - forest.hidden)
    elif forest.hidden:
        qs = qs.exclude(category_id__in=forest.hidden)
    return qs.annotate(price_fen=F("lowest_price_fen")).order_by(*ORDERINGS.get(ordering, DEFAULT_ORDERING)).only(
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
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ProductMatch:
    id: int
    title: str
    price_fen: int
    cover_url: str
    page_path: str


# This process's index, replaced whole when a newer one is built; None until the first.
_index: MatchIndex | None = None
_index_lock = threading.Lock()
_builder: threading.Thread | None = None


def match_index_build() -> MatchIndex:
    """Build the index of on-shelf products in visible categories for the current content
    version, and make it this process's index (two queries)."""
    global _index
    version = catalog_version()  # before reading: a write after this one builds again
    rows = (
        Product.objects.filter(is_on_shelf=True, lowest_price_fen__isnull=False)
        .exclude(category_id__in=category_hidden_ids())
        .values_list("id", "title", "subtitle", "keywords", "sales_count")
    )
    index = MatchIndex(version, rows.iterator(chunk_size=5000))
    with _index_lock:
        if _index is None or _index.version <= version:
            _index = index
    return index


def _build_in_background() -> None:
    try:
        while _index is None or _index.version != catalog_version():
            match_index_build()
    except Exception:
        logger.exception("product match index build failed")
    finally:
        connection.close()  # this thread's own connection


def _match_index() -> MatchIndex | None:
    """This process's index, brought up to the current content version off the caller's
    path: a stale index keeps answering while a thread builds the new one (the first
    question after a change gets the old answers, never a wait). Without a broker (the
    suite, `make run`) the build runs in the caller, as Celery's eager mode would."""
    global _builder
    index = _index
    if index is not None and index.version == catalog_version():
        return index
    from wxbackend.celery import app

    if app.conf.task_always_eager:
        return match_index_build()
    with _index_lock:
        if _builder is None or not _builder.is_alive():
            _builder = threading.Thread(target=_build_in_background, name="match-index", daemon=True)
            _builder.start()
    return index


def product_matches(*, text: str, limit: int = 1) -> list[ProductMatch]:
    """On-shelf products named in a customer's free text, best first.

    A product matches when one of its terms (keywords, title, title tails) occurs in the text
    (`有没有保温杯？` finds "316不锈钢保温杯 500ml"), or when the text occurs in its title,
    subtitle or keywords. Longer and merchant-given terms rank first, then sales. The text is
    cut to 100 characters and matched against an index of the whole catalog (see
    `catalog.matching`), so a call costs the same at 500 products as at 100,000: one cache
    round trip, and one query when something matched."""
    needle = _NOISE.sub("", (text or "")[:MAX_MATCH_TEXT]).lower()
    if len(needle) < MIN_TERM_CHARS or limit <= 0:
        return []
    index = _match_index()
    ids = index.find(needle, limit=limit) if index is not None else []
    return _product_matches_by_id(ids)


def _product_matches_by_id(ids: list[int]) -> list[ProductMatch]:
    """ProductMatch rows for `ids`, in that order (one query; products gone since are left out)."""
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


# --- photo questions ---------------------------------------------------------------------------

_photo_index: PhotoIndex | None = None
_photo_lock = threading.Lock()


def _photo_index_current() -> PhotoIndex:
    """This process's index of on-shelf products' picture fingerprints for the current content
    version, rebuilt (one query) by the first photo after a catalog change."""
    global _photo_index
    version = catalog_version()
    index = _photo_index
    if index is not None and index.version == version:
        return index
    with _photo_lock:
        if _photo_index is None or _photo_index.version != version:
            rows = (
                ProductImageHash.objects.filter(product__is_on_shelf=True, product__lowest_price_fen__isnull=False)
                .exclude(product__category_id__in=category_hidden_ids())
                .order_by("-product__sales_count", "product_id", "id")
                .values_list("product_id", "phash", "dhash")
            )
            _photo_index = PhotoIndex(version, rows.iterator(chunk_size=5000))
        return _photo_index


def product_photos_indexed() -> bool:
    """Whether any on-shelf product has a fingerprinted picture (else a photo is not fetched)."""
    return len(_photo_index_current()) > 0


def product_photo_matches(*, data: bytes, limit: int = 1) -> list[ProductMatch]:
    """On-shelf products one of whose pictures `data` (an encoded picture a customer sent) is
    a copy of, closest first. Not a picture, too big, or no product close enough: []."""
    fingerprint = fingerprint_of(data)
    if fingerprint is None or limit <= 0:
        return []
    return _product_matches_by_id(_photo_index_current().find(fingerprint, limit=limit))
