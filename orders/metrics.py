"""The sales figures of the dashboard: each one a query of a summary table (``core.summaries``) or of an
index.

Nothing here loops over rows in Python; the only loops are over the (at most 30) days of a chart
and the (at most 10) rows of a top list. Periods are counted in calendar days of the site's time
zone (``core.figures``). A period is compared with the one just before it, cut at the same time of
day, so a morning isn't compared with a whole day.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from core.figures import CHART_DAYS, MONEY, TOP_N, ZERO, period_start
from core.tenancy import current_tenant
from inventory.models import Product

from .models import Order, OrderSummary, ProductSalesSummary
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
    in the whole hours before the hour it is now (to compare a period with the one before at the same
    time of day)."""

    day: dt.date
    status: str
    orders: int
    amount: Decimal
    amount_before_this_hour: Decimal


def order_days(*, now: dt.datetime, days: int = 2 * CHART_DAYS) -> list[OrderDay]:
    """Orders per day and status over the last ``days`` days, from the order summary (orders and their
    total per day, hour and status; ``core.summaries``): at most days x 24 x statuses rows.

    Revenue per period, revenue per day and orders per status are all read from these groups.
    """
    today = timezone.localdate(now)
    before_this_hour = Q(hour__lt=timezone.localtime(now).hour)
    rows = (
        OrderSummary.objects.filter(
            status__in=Order.Status.values, day__gte=period_start(days, today=today), day__lte=today
        )
        .values("day", "status")
        .annotate(  # the column "amount" before the alias "amount" hides it
            amount_before_this_hour=Coalesce(
                Sum("amount", filter=before_this_hour), Value(ZERO), output_field=MONEY
            ),
            orders=Sum("orders"),
            amount=Sum("amount"),
        )
        .filter(Q(orders__gt=0) | ~Q(amount=0))
        .order_by()
    )
    return [OrderDay(**row) for row in rows]


def revenue_before_this_time(*, now: dt.datetime, days: list[OrderDay], on: list[dt.date]) -> dict:
    """Revenue of each day of ``on`` placed before the time of day it is now: its whole hours before
    this one (from ``days``), and the orders of this hour's part from the orders themselves (on the
    created_at index: at most an hour of orders a day)."""
    local = timezone.localtime(now)
    zone = timezone.get_current_timezone()
    this_hour = Q()
    for day in on:
        this_hour |= Q(
            created_at__gte=dt.datetime.combine(day, dt.time(local.hour), tzinfo=zone),
            created_at__lt=dt.datetime.combine(day, local.time(), tzinfo=zone),
        )
    minutes = (
        dict(
            Order.objects.filter(this_hour, status__in=REVENUE_STATUSES)
            .annotate(day=TruncDate("created_at", tzinfo=zone))
            .values("day")
            .annotate(amount=Sum("total"))
            .values_list("day", "amount")
            .order_by()
        )
        if on  # an empty Q() would read every order
        else {}
    )
    hours = dict.fromkeys(on, ZERO)
    for d in _revenue_days(days):
        if d.day in hours:
            hours[d.day] += d.amount_before_this_hour
    return {day: hours[day] + minutes.get(day, ZERO) for day in on}


def _revenue_days(days: list[OrderDay]) -> list[OrderDay]:
    return [d for d in days if d.status in REVENUE_STATUSES]


def revenue_by_period(*, now: dt.datetime, days: list[OrderDay] | None = None) -> dict[str, Revenue]:
    """Revenue (orders in revenue statuses) today, over 7 and 30 days, and in the periods before.

    The period before ``n`` days is the ``n`` days before, cut at the time of day it is now: its
    whole days plus the part of its last day before this time.
    """
    today = timezone.localdate(now)
    days = order_days(now=now) if days is None else days
    revenue = _revenue_days(days)
    before = revenue_before_this_time(
        now=now, days=days, on=[today - dt.timedelta(days=n) for n in REVENUE_PERIODS.values()]
    )
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
            + before[previous_last],
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
    """How many orders wait in each open status (pending, paid, partially refunded, shipped), zeros
    included: the order summary's rows of those statuses (on its status index)."""
    counts = dict(
        OrderSummary.objects.filter(status__in=OPEN_STATUSES)
        .values("status")
        .annotate(n=Sum("orders"))
        .values_list("status", "n")
        .order_by()
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


# The window's top ``limit`` products: with d products changed since the last fold, the top ``limit``
# are among those d and the ``limit + d`` first folded rows (the others didn't change), so the query
# reads two index ranges, however many products sold.
WINDOW_TOP = """
    WITH changed AS (
        SELECT product_id, units FROM orders_productsaleswindow WHERE tenant_id = %(tenant)s AND NOT folded
    ), head AS (
        SELECT product_id FROM orders_productsaleswindow WHERE tenant_id = %(tenant)s AND folded
        ORDER BY units DESC, product_id
        LIMIT %(limit)s + (SELECT count(DISTINCT product_id) FROM changed)
    ), candidates AS (
        SELECT product_id, units FROM changed
        UNION ALL
        SELECT product_id, units FROM orders_productsaleswindow
        WHERE tenant_id = %(tenant)s AND folded
          AND product_id IN (SELECT product_id FROM changed UNION SELECT product_id FROM head)
    ), top AS (
        SELECT product_id, sum(units) AS units FROM candidates
        GROUP BY product_id HAVING sum(units) > 0 ORDER BY units DESC, product_id LIMIT %(limit)s
    )
    -- The window's first day with every row, and alone when nothing sold: the caller checks it.
    SELECT (SELECT first_day FROM orders_saleswindowstart WHERE id = 1), product_id, units FROM top
    UNION ALL
    SELECT (SELECT first_day FROM orders_saleswindowstart WHERE id = 1), NULL, NULL
    WHERE NOT EXISTS (SELECT 1 FROM top)
    ORDER BY 3 DESC, 2
"""


def top_from_window(*, limit: int) -> tuple[dt.date | None, list[dict]]:
    """(the window's first day, its top ``limit`` products)."""
    with connection.cursor() as cursor:
        cursor.execute(WINDOW_TOP, {"tenant": current_tenant().pk, "limit": limit})
        rows = cursor.fetchall()
    first_day = rows[0][0] if rows else None
    return first_day, [{"product_id": pk, "units": units} for _, pk, units in rows if pk is not None]


def top_from_days(*, first_day: dt.date, last_day: dt.date, limit: int) -> list[dict]:
    return list(
        ProductSalesSummary.objects.filter(status__in=REVENUE_STATUSES, day__gte=first_day, day__lte=last_day)
        .values("product_id")
        .annotate(units=Sum("units"))
        .filter(units__gt=0)
        .order_by("-units", "product_id")[:limit]
    )


def top_products_by_units(*, now: dt.datetime, days: int = CHART_DAYS, limit: int = TOP_N) -> list[dict]:
    """The products most sold (units on orders in revenue statuses) over the last ``days`` days: from
    the sales window (units per product over the last 30 days) when it starts on the right day, else
    from the product sales summary (units per day, status and product). The names of the ``limit``
    winners come with a second, primary-key query."""
    today = timezone.localdate(now)
    first_day = period_start(days, today=today)
    window_first_day, top = top_from_window(limit=limit)
    if window_first_day != first_day:  # the window hasn't moved to today yet (or it is another length)
        top = top_from_days(first_day=first_day, last_day=today, limit=limit)
    names = Product.objects.only("pk", "name", "sku").in_bulk([row["product_id"] for row in top])
    return [
        {
            **row,
            "product__name": names[row["product_id"]].name,
            "product__sku": names[row["product_id"]].sku,
        }
        for row in top
    ]
