"""The sales figures of the dashboard: each one a single aggregate query that stays on an index.

Nothing here loops over rows in Python; the only loops are over the (at most 30) days of a chart
and the (at most 10) rows of a top list. Periods are counted in calendar days of the site's time
zone (``core.figures``). A period is compared with the one just before it, cut at the same time of
day, so a morning isn't compared with a whole day.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from core.figures import CHART_DAYS, MONEY, TOP_N, ZERO, midnight, period_start
from inventory.models import Product

from .models import Order, OrderItem
from .querysets import OPEN_STATUSES, REVENUE_STATUSES

REVENUE_PERIODS = {"today": 1, "7d": 7, "30d": 30}


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


@dataclass(frozen=True)
class OrderDay:
    """The orders of one day in one status: how many, their total, and the part of that total placed
    before the time of day it is now (to compare a period with the one before at the same time)."""

    day: dt.date
    status: str
    orders: int
    amount: Decimal
    amount_before_this_time: Decimal


def order_days(*, now: dt.datetime, days: int = 2 * CHART_DAYS) -> list[OrderDay]:
    """Orders per day and status over the last ``days`` days: one GROUP BY on the created_at index.

    Revenue per period, the periods before, revenue per day and orders per status are all read from
    these (at most days x statuses) groups, so the dashboard scans the recent orders once.
    """
    zone = timezone.get_current_timezone()
    first = midnight(period_start(days, today=timezone.localdate(now)))
    this_time = timezone.localtime(now, zone).time()
    rows = (
        Order.objects.filter(created_at__gte=first, created_at__lte=now)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day", "status")
        .annotate(
            orders=Count("id"),
            amount=Coalesce(Sum("total"), Value(ZERO), output_field=MONEY),
            amount_before_this_time=Coalesce(
                Sum("total", filter=Q(created_at__time__lt=this_time)), Value(ZERO), output_field=MONEY
            ),
        )
        .order_by()
    )
    return [OrderDay(**row) for row in rows]


def _revenue_days(days: list[OrderDay]) -> list[OrderDay]:
    return [d for d in days if d.status in REVENUE_STATUSES]


def revenue_by_period(*, now: dt.datetime, days: list[OrderDay] | None = None) -> dict[str, Revenue]:
    """Revenue (orders in revenue statuses) today, over 7 and 30 days, and in the periods before.

    The period before ``n`` days is the ``n`` days before, cut at the time of day it is now: its
    whole days plus the part of its last day before this time.
    """
    today = timezone.localdate(now)
    revenue = _revenue_days(order_days(now=now) if days is None else days)
    result = {}
    for key, n in REVENUE_PERIODS.items():
        first = period_start(n, today=today)
        previous_first, previous_last = first - dt.timedelta(days=n), today - dt.timedelta(days=n)
        current = [d for d in revenue if d.day >= first]
        result[key] = Revenue(
            days=n,
            first_day=first,
            amount=sum((d.amount for d in current), ZERO),
            orders=sum(d.orders for d in current),
            previous_amount=sum((d.amount for d in revenue if previous_first <= d.day < previous_last), ZERO)
            + sum((d.amount_before_this_time for d in revenue if d.day == previous_last), ZERO),
        )
    return result


def revenue_per_day(
    *, now: dt.datetime, days: list[OrderDay] | None = None, length: int = CHART_DAYS
) -> list[tuple[dt.date, Decimal]]:
    """(day, revenue) for each of the last ``length`` days, oldest first, days without sales as 0."""
    first = period_start(length, today=timezone.localdate(now))
    by_day: dict[dt.date, Decimal] = {}
    for d in _revenue_days(order_days(now=now) if days is None else days):
        by_day[d.day] = by_day.get(d.day, ZERO) + d.amount
    return [(day, by_day.get(day, ZERO)) for day in (first + dt.timedelta(days=n) for n in range(length))]


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


def orders_by_status(
    *, now: dt.datetime, days: list[OrderDay] | None = None, length: int = CHART_DAYS
) -> dict[str, int]:
    """Orders placed in the last ``length`` days, per status (every status, zeros included; drafts
    are not placed orders)."""
    first = period_start(length, today=timezone.localdate(now))
    counts = dict.fromkeys((s for s in Order.Status.values if s != Order.Status.DRAFT), 0)
    for d in order_days(now=now) if days is None else days:
        if d.day >= first and d.status in counts:
            counts[d.status] += d.orders
    return counts


def top_products_by_units(*, now: dt.datetime, days: int = CHART_DAYS, limit: int = TOP_N) -> list[dict]:
    """The products most sold (units on orders in revenue statuses) over the last ``days`` days.

    Grouped by product id alone (grouping by name too made PostgreSQL sort every line by name); the
    names of the ``limit`` winners come with a second, primary-key query.
    """
    first = midnight(period_start(days, today=timezone.localdate(now)))
    top = list(
        OrderItem.objects.filter(
            order__status__in=REVENUE_STATUSES, order__created_at__gte=first, order__created_at__lte=now
        )
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product_id")[:limit]
    )
    names = Product.objects.only("pk", "name", "sku").in_bulk([row["product_id"] for row in top])
    return [
        {
            **row,
            "product__name": names[row["product_id"]].name,
            "product__sku": names[row["product_id"]].sku,
        }
        for row in top
    ]
