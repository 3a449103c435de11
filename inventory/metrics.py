"""The stock figures of the dashboard: each one a single aggregate query that stays on an index."""

import datetime as dt

from django.db.models import Count, F, IntegerField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.figures import CHART_DAYS, MONEY, TOP_N, ZERO, midnight, period_start

from .models import Product, StockMovement
from .stock_state import LOW_STOCK_COVER, STOCK_STATE_CONDITIONS, StockState


def stock_summary() -> dict:
    """Products out of stock, low on stock, all products, and the stock's value (one scan)."""
    return Product.objects.order_by().aggregate(
        products=Count("pk"),
        out_of_stock=Count("pk", filter=STOCK_STATE_CONDITIONS[StockState.OUT]),
        low_stock=Count("pk", filter=STOCK_STATE_CONDITIONS[StockState.LOW]),
        stock_value=Coalesce(
            Sum(F("stock") * F("price"), output_field=MONEY), Value(ZERO), output_field=MONEY
        ),
    )


def most_urgent_low_stock(limit: int = TOP_N) -> list[dict]:
    """Low-stock products, lowest stock relative to their threshold first (on the partial index
    product_low_stock_cover_idx: the first ``limit`` entries)."""
    return list(
        Product.objects.low_stock()
        .annotate(cover=LOW_STOCK_COVER)
        .order_by("cover", "stock", "name", "pk")
        .values("pk", "sku", "name", "stock", "low_stock_threshold")[:limit]
    )


def stock_flow(*, now: dt.datetime, days: int = CHART_DAYS) -> dict[str, int]:
    """Units received, sold and adjusted (in and out) over the last ``days`` days, from the ledger.

    One query over the (kind, created_at) index. Sales are stored as negative movements and shown
    as positive units sold.
    """
    first = midnight(period_start(days, today=timezone.localdate(now)))
    kind = StockMovement.Kind

    def units(condition):
        return Coalesce(Sum("quantity", filter=condition), Value(0), output_field=IntegerField())

    row = (
        StockMovement.objects.filter(
            kind__in=[kind.RECEIPT, kind.SALE, kind.ADJUSTMENT], created_at__gte=first, created_at__lte=now
        )
        .order_by()
        .aggregate(
            received=units(Q(kind=kind.RECEIPT)),
            sold=units(Q(kind=kind.SALE)),
            adjusted_in=units(Q(kind=kind.ADJUSTMENT, quantity__gt=0)),
            adjusted_out=units(Q(kind=kind.ADJUSTMENT, quantity__lt=0)),
        )
    )
    return {
        "received": row["received"],
        "sold": -row["sold"],
        "adjusted_in": row["adjusted_in"],
        "adjusted_out": -row["adjusted_out"],
        "first_day": timezone.localdate(first),
    }
