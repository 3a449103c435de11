"""The stock figures of the dashboard: each one a single query of a summary table or of an index."""

import datetime as dt

from django.db.models import Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.figures import CHART_DAYS, MONEY, TOP_N, ZERO, period_start

from .models import Product, StockFlowSummary, StockMovement, StockSummary
from .stock_state import LOW_STOCK_COVER


def stock_summary() -> dict:
    """Products out of stock, low on stock, all products, and the stock's value: the shop's row of the
    stock summary and the deltas not folded into it yet (``core.summaries``)."""
    row = StockSummary.objects.aggregate(
        products=Coalesce(Sum("products"), 0),
        out_of_stock=Coalesce(Sum("out_of_stock"), 0),
        low_stock=Coalesce(Sum("low_stock"), 0),
        stock_value=Coalesce(Sum("stock_value"), Value(ZERO), output_field=MONEY),
    )
    return {**row, "stock_value": row["stock_value"].quantize(ZERO)}


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
    """Units received, sold and adjusted (in and out) over the last ``days`` days of the site's calendar,
    from the stock-flow summary (units in and out per day and kind of movement). Sales are stored as
    negative movements and shown as positive units sold."""
    first_day = period_start(days, today=timezone.localdate(now))
    kind = StockMovement.Kind
    moved = {
        row["kind"]: row
        for row in StockFlowSummary.objects.filter(
            day__gte=first_day, kind__in=[kind.RECEIPT, kind.SALE, kind.ADJUSTMENT]
        )
        .values("kind")
        .annotate(units_in=Sum("units_in"), units_out=Sum("units_out"))
        .order_by()
    }
    none = {"units_in": 0, "units_out": 0}
    receipts, sales, adjustments = (moved.get(k, none) for k in (kind.RECEIPT, kind.SALE, kind.ADJUSTMENT))
    return {
        "received": receipts["units_in"] + receipts["units_out"],
        "sold": -(sales["units_in"] + sales["units_out"]),
        "adjusted_in": adjustments["units_in"],
        "adjusted_out": -adjustments["units_out"],
        "first_day": first_day,
    }
