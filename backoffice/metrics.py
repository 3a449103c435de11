"""The dashboard's figures: each one a single aggregate query that stays on an index.

Nothing here loops over rows in Python; the only loops are over the (at most 30) days of a chart
and the (at most 10) rows of a top list. Periods are counted in calendar days of the site's time
zone: "last 7 days" is today and the 6 days before it. A period is compared with the one just
before it, cut at the same time of day, so a morning isn't compared with a whole day.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, FloatField, IntegerField, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf, TruncDate
from django.utils import timezone

from inventory.models import Product, StockMovement
from inventory.stock_state import STOCK_STATE_CONDITIONS, StockState
from orders.models import Order, OrderItem
from orders.querysets import OPEN_STATUSES, REVENUE_STATUSES

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=20, decimal_places=2)
REVENUE_PERIODS = {"today": 1, "7d": 7, "30d": 30}
CHART_DAYS = 30
TOP_N = 10


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def period_start(days: int, *, today: dt.date) -> dt.date:
    """The first day of the ``days`` calendar days ending today."""
    return today - dt.timedelta(days=days - 1)


@dataclass(frozen=True)
class Revenue:
    days: int
    first_day: dt.date
    amount: Decimal
    orders: int
    previous_amount: Decimal

    @property
    def change_percent(self) -> Decimal | None:
        """Change against the previous period, in percent; None when there was nothing to compare."""
        if not self.previous_amount:
            return None
        return ((self.amount - self.previous_amount) / self.previous_amount * 100).quantize(Decimal("0.1"))


def revenue_by_period(*, now: dt.datetime) -> dict[str, Revenue]:
    """Revenue (orders in revenue statuses) today, over 7 and 30 days, and in the periods before.

    One query over the (status, created_at) index: conditional sums over the last 60 days.
    """
    today = timezone.localdate(now)
    windows = {}
    for key, days in REVENUE_PERIODS.items():
        start = midnight(period_start(days, today=today))
        shift = dt.timedelta(days=days)
        windows[key] = (days, start, start - shift, now - shift)
    earliest = min(previous_start for _, _, previous_start, _ in windows.values())
    aggregates = {}
    for key, (_, start, previous_start, previous_end) in windows.items():
        current = Q(created_at__gte=start)
        previous = Q(created_at__gte=previous_start, created_at__lt=previous_end)
        aggregates[f"{key}_amount"] = Coalesce(Sum("total", filter=current), Value(ZERO), output_field=MONEY)
        aggregates[f"{key}_orders"] = Count("id", filter=current)
        aggregates[f"{key}_previous"] = Coalesce(
            Sum("total", filter=previous), Value(ZERO), output_field=MONEY
        )
    row = (
        Order.objects.filter(status__in=REVENUE_STATUSES, created_at__gte=earliest, created_at__lte=now)
        .order_by()
        .aggregate(**aggregates)
    )
    return {
        key: Revenue(
            days=days,
            first_day=timezone.localdate(start),
            amount=row[f"{key}_amount"],
            orders=row[f"{key}_orders"],
            previous_amount=row[f"{key}_previous"],
        )
        for key, (days, start, _, _) in windows.items()
    }


def revenue_per_day(*, now: dt.datetime, days: int = CHART_DAYS) -> list[tuple[dt.date, Decimal]]:
    """(day, revenue) for each of the last ``days`` days, oldest first, days without sales as 0.

    One GROUP BY over the (status, created_at) index.
    """
    today = timezone.localdate(now)
    first = period_start(days, today=today)
    rows = (
        Order.objects.filter(
            status__in=REVENUE_STATUSES, created_at__gte=midnight(first), created_at__lte=now
        )
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(revenue=Sum("total"))
        .order_by("day")
    )
    by_day = {row["day"]: row["revenue"] for row in rows}
    return [(day, by_day.get(day, ZERO)) for day in (first + dt.timedelta(days=n) for n in range(days))]


def open_orders_by_status() -> dict[str, int]:
    """How many orders wait in each open status (pending, paid, shipped), zeros included."""
    counts = dict(
        Order.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in OPEN_STATUSES}


def orders_by_status(*, now: dt.datetime, days: int = CHART_DAYS) -> dict[str, int]:
    """Orders placed in the last ``days`` days, per status (every status, zeros included)."""
    first = midnight(period_start(days, today=timezone.localdate(now)))
    counts = dict(
        Order.objects.filter(created_at__gte=first, created_at__lte=now)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in Order.Status.values}


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
    """Low-stock products, lowest stock relative to their threshold first."""
    ratio = Cast("stock", FloatField()) / Cast(NullIf("low_stock_threshold", 0), FloatField())
    return list(
        Product.objects.low_stock()
        .annotate(cover=ratio)
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


def top_products_by_units(*, now: dt.datetime, days: int = CHART_DAYS, limit: int = TOP_N) -> list[dict]:
    """The products most sold (units on orders in revenue statuses) over the last ``days`` days."""
    first = midnight(period_start(days, today=timezone.localdate(now)))
    return list(
        OrderItem.objects.filter(
            order__status__in=REVENUE_STATUSES, order__created_at__gte=first, order__created_at__lte=now
        )
        .values("product_id", "product__sku", "product__name")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product__name", "product_id")[:limit]
    )
