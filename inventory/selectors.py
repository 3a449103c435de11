"""Reads about the catalogue and the ledger that several places share."""

from django.core.cache import cache
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from approvals.gate import approval_needed
from approvals.kinds import bulk_measure

from .models import Category, Product, StockMovement
from .services import PRODUCT_FLAGS, featured_cache_key

FEATURED_CACHE_SECONDS = 300


def reference_label(movement: StockMovement) -> str:
    """'Order ORD-000123', 'Import job 7': what caused a movement, without a query per row.

    The order number is derived from the referenced id (numbers are ``ORD-`` + the zero-padded id).
    """
    if not movement.reference_type_id:
        return ""
    model = movement.reference_type.model
    if model == "order":
        return f"Order ORD-{int(movement.reference_id):06d}"
    if model == "importjob":
        return f"Import job {movement.reference_id}"
    return f"{movement.reference_type.name} {movement.reference_id}"


def last_movement_id(product) -> int:
    """The product's newest ledger row (0 for none): where a dialog that moves its stock opened."""
    newest = StockMovement.objects.filter(product=product).order_by("-id").values_list("id", flat=True)
    return newest.first() or 0


def movements_since(product, *, after_id: int, mine) -> str:
    """'sale -2 (Order ORD-000012, by sam at 10:14)': the product's ledger rows written after one of
    them (where a person's dialog opened) other than ``mine`` (the movement the dialog wrote, its row
    matched by its values: the ledger is written in bulk)."""
    movements = (
        StockMovement.objects.filter(product=product, id__gt=after_id)
        .exclude(kind=mine.kind, quantity=mine.quantity, stock_after=mine.stock_after, reason=mine.reason)
        .select_related("user", "reference_type")
        .order_by("id")
    )
    parts = []
    for movement in movements:
        cause = [reference_label(movement)] if movement.reference_type_id else []
        if movement.user is not None:
            cause.append(f"by {movement.user.get_full_name() or movement.user.get_username()}")
        cause.append(f"at {timezone.localtime(movement.created_at):%H:%M}")
        parts.append(f"{movement.get_kind_display().lower()} {movement.quantity:+d} ({', '.join(cause)})")
    return "; ".join(parts)


FEATURED_CACHED = 50  # one cached list serves every length up to this


def featured_products(limit: int = 12) -> list[Product]:
    """The storefront's featured list, cached until a product changes."""
    cached = cache.get(featured_cache_key())
    if cached is None:
        cached = list(
            Product.objects.published()
            .featured()
            .in_stock()
            .order_by("-popularity_score", "name")[:FEATURED_CACHED]
        )
        cache.set(featured_cache_key(), cached, FEATURED_CACHE_SECONDS)
    return cached[:limit]


def ledger_balance(product) -> int:
    return StockMovement.objects.filter(product=product).aggregate(total=Sum("quantity"))["total"] or 0


def stock_mismatches():
    """Products whose stock differs from the sum of their movements: one aggregate query, streamed."""
    ledger = (
        StockMovement.objects.filter(product=OuterRef("pk"))
        .order_by()
        .values("product")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return (
        Product.objects.annotate(ledger_sum=Coalesce(Subquery(ledger), Value(0)))
        .exclude(stock=F("ledger_sum"))
        .values("pk", "sku", "name", "stock", "ledger_sum")
        .order_by("pk")
    )


def category_path_key(text: str) -> str:
    """``Electronics / Phones`` -> ``electronics/phones``: paths compared as people type them."""
    return "/".join(part.strip().lower() for part in text.split("/") if part.strip())


class CategoryIndex:
    """Every category by slug, by name and by path (``Electronics/Phones``), read in one query: what
    imports and exports look categories up in."""

    def __init__(self):
        rows = list(Category.objects.values_list("pk", "name", "slug", "parent_id"))
        self.parent_of = {pk: parent_id for pk, _, _, parent_id in rows}
        names = {pk: name for pk, name, _, _ in rows}
        self.path_of: dict[int, str] = {}
        for pk in names:
            parts, node, seen = [], pk, set()
            while node is not None and node not in seen:
                seen.add(node)
                parts.append(names[node])
                node = self.parent_of[node]
            self.path_of[pk] = "/".join(reversed(parts))
        self.by_slug = {slug.lower(): pk for pk, _, slug, _ in rows}
        self.by_name = {name.lower(): pk for pk, name, _, _ in rows}
        self.by_path = {category_path_key(path): pk for pk, path in self.path_of.items()}

    def find(self, text: str) -> int | None:
        """The category a cell names, by slug (``phones``) or path (``Electronics/Phones``)."""
        if "/" in text:
            return self.by_path.get(category_path_key(text))
        return self.by_slug.get(text.lower()) or self.by_path.get(category_path_key(text))

    def add(self, category) -> None:
        """A category written since the index was read (a row of an import, for the rows after it)."""
        parent = self.path_of.get(category.parent_id)
        path = f"{parent}/{category.name}" if parent else category.name
        self.parent_of[category.pk] = category.parent_id
        self.path_of[category.pk] = path
        self.by_slug[category.slug.lower()] = category.pk
        self.by_name[category.name.lower()] = category.pk
        self.by_path[category_path_key(path)] = category.pk

    def is_below(self, pk, ancestor) -> bool:
        """Whether category ``pk`` is ``ancestor`` or sits somewhere below it."""
        seen = set()
        while pk is not None and pk not in seen:
            if pk == ancestor:
                return True
            seen.add(pk)
            pk = self.parent_of.get(pk)
        return False


def product_flag_approval(products, flag: str) -> str | None:
    """Why a bulk flag of ``products`` would wait for approval (the shop's rule for bulk actions)."""
    field, value, _ = PRODUCT_FLAGS[flag]
    return approval_needed([bulk_measure(products.exclude(**{field: value}).count())])


def product_flag_effects(products, flag: str) -> str:
    """What a bulk publish/unpublish/feature/unfeature of ``products`` (a queryset) will do, in the
    sentence a person confirms."""
    field, value, title = PRODUCT_FLAGS[flag]
    selected = products.count()
    changing = products.exclude(**{field: value}).count()
    state = {
        "publish": "published",
        "unpublish": "unpublished (drafts)",
        "feature": "featured",
        "unfeature": "not featured",
    }[flag]
    already = selected - changing
    products = f"product{'' if selected == 1 else 's'}"
    text = f"{title}: {changing} of the {selected} selected {products} will be {state}"
    if already:
        text += f" ({already} already {'is' if already == 1 else 'are'})"
    if not changing:
        return text + ". Nothing will change."
    return text + ". Each gets a history row, and the whole change can be undone as one."
