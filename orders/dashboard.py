"""The dashboard's sales section (registered in ``orders.registrations``): revenue per period against
the period before, open orders, revenue and orders per day, top products; every figure links to the
orders (or products) it counts."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from core.figures import chart, list_url, units
from core.money import format_money

from . import metrics
from .models import OrderStatus
from .querysets import OPEN_STATUSES, REVENUE_STATUSES

PERIOD_TITLES = {"today": "Revenue today", "7d": "Revenue, last 7 days", "30d": "Revenue, last 30 days"}
PREVIOUS_PERIOD = {"today": "yesterday at this time", "7d": "the 7 days before", "30d": "the 30 days before"}
CHART_COLOURS = {
    OrderStatus.PENDING: "var(--color-base-400)",
    OrderStatus.PARTIALLY_REFUNDED: "var(--color-base-600)",
    OrderStatus.PAID: "var(--color-primary-600)",
    OrderStatus.SHIPPED: "var(--color-primary-400)",
    OrderStatus.COMPLETED: "var(--color-primary-800)",
    OrderStatus.CANCELLED: "var(--color-base-300)",
    OrderStatus.REFUNDED: "var(--color-base-500)",
}


def sales_figures() -> dict:
    now = timezone.now()
    days = metrics.order_days(now=now)  # one scan of the last 60 days serves the next three
    return {
        "computed_at": now,
        "revenue": metrics.revenue_by_period(now=now, days=days),
        "revenue_per_day": metrics.revenue_per_day(now=now, days=days),
        "orders_by_status": metrics.orders_by_status(now=now, days=days),
        "open_orders": metrics.open_orders_by_status(),
        "top_products": metrics.top_products_by_units(now=now),
    }


def orders_url(*, statuses=(), first_day=None, last_day=None) -> str:
    params = [("status__exact", status) for status in statuses]
    if first_day:
        params.append(("created_at_from", first_day.isoformat()))
    if last_day:
        params.append(("created_at_to", last_day.isoformat()))
    return list_url("admin:orders_order_changelist", params)


def revenue_change(revenue: metrics.Revenue, key: str) -> dict:
    percent = revenue.change_percent
    against = PREVIOUS_PERIOD[key]
    if percent is None:
        return {"text": f"nothing to compare with {against}", "tone": "neutral"}
    sign = "+" if percent > 0 else ""
    tone = "up" if percent > 0 else "down" if percent < 0 else "neutral"
    return {"text": f"{sign}{percent}% against {against}", "tone": tone}


def sales_context(figures: dict, *, user) -> dict:
    today = timezone.localdate(figures["computed_at"])
    revenue_cards = [
        {
            "title": PERIOD_TITLES[key],
            "value": format_money(revenue.amount),
            "detail": f"{units(revenue.orders)} order{'s' if revenue.orders != 1 else ''}",
            "change": revenue_change(revenue, key),
            "href": orders_url(statuses=REVENUE_STATUSES, first_day=revenue.first_day, last_day=today),
        }
        for key, revenue in figures["revenue"].items()
    ]
    open_orders = figures["open_orders"]
    open_rows = [
        {
            "label": OrderStatus(status).label,
            "count": units(count),
            "href": orders_url(statuses=[status]),
        }
        for status, count in open_orders.items()
    ]
    per_day = figures["revenue_per_day"]
    by_status = figures["orders_by_status"]
    top = figures["top_products"]
    return {
        "revenue_cards": revenue_cards,
        "open_orders": {
            "total": units(sum(open_orders.values())),
            "href": orders_url(statuses=OPEN_STATUSES),
            "rows": open_rows,
        },
        "revenue_chart": chart(
            [day.strftime("%d %b") for day, _ in per_day],
            [amount for _, amount in per_day],
            label=f"Revenue ({settings.ORDER_CURRENCY})",
        ),
        "revenue_chart_href": orders_url(
            statuses=REVENUE_STATUSES, first_day=per_day[0][0], last_day=per_day[-1][0]
        ),
        "status_chart": chart(
            [OrderStatus(status).label for status in by_status],
            by_status.values(),
            label="Orders",
            colours=[CHART_COLOURS[status] for status in by_status],
        ),
        "status_chart_href": orders_url(first_day=per_day[0][0], last_day=per_day[-1][0]),
        "top_products_chart": chart(
            [row["product__name"] for row in top], [row["units"] for row in top], label="Units sold"
        ),
        "top_products": [
            {
                "name": row["product__name"],
                "sku": row["product__sku"],
                "units": units(row["units"]),
                "href": reverse("admin:inventory_product_change", args=[row["product_id"]]),
            }
            for row in top
        ],
    }
