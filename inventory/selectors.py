"""Reads about the catalogue and the ledger that several places share."""

from django.core.cache import cache
from django.db.models import Sum

from .models import Product, StockMovement
from .services import featured_cache_key

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
    from django.db.models import F, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

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


def product_flag_effects(products, flag: str) -> str:
    """What a bulk publish/unpublish/feature/unfeature of ``products`` (a queryset) will do, in the
    sentence a person confirms."""
    from .services import PRODUCT_FLAGS

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
