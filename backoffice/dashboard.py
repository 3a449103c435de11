"""The admin's front page: what each role needs to see first, from a few cached aggregate queries.

Figures come from ``backoffice.metrics`` (one aggregate query each) and are cached together per
section for ``settings.DASHBOARD_CACHE_SECONDS``; the page says when they were computed. Which
sections a user sees is decided by permissions:

- sales (revenue, open orders, orders per status, top products): people who work on orders
  (``orders.change_order``) and people who read everything (``audit.view_auditentry``);
- stock (out of / low on stock, stock value, units moved, the most urgent products): people who
  keep the stock (``inventory.adjust_stock``) and people who read everything.

Viewing the lists alone isn't enough: operations may read orders and support may read products,
but those figures aren't their work.
"""

import json
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format

from backoffice.tenancy import current_tenant
from inventory.models import StockMovement
from inventory.stock_state import StockState
from orders.models import OrderStatus
from orders.querysets import OPEN_STATUSES, REVENUE_STATUSES

from . import metrics

SALES, STOCK = "sales", "stock"
EVERYTHING_READER = "audit.view_auditentry"
SECTION_PERMISSIONS = {
    # section: (the list its cards link to, the permission of the people whose work it is)
    SALES: ("orders.view_order", "orders.change_order"),
    STOCK: ("inventory.view_product", "inventory.adjust_stock"),
}
CACHE_KEY = "dashboard:v1:{tenant}:{section}"
PERIOD_TITLES = {"today": "Revenue today", "7d": "Revenue, last 7 days", "30d": "Revenue, last 30 days"}
PREVIOUS_PERIOD = {"today": "yesterday at this time", "7d": "the 7 days before", "30d": "the 30 days before"}
STATUS_COLOURS = {
    OrderStatus.PENDING: "var(--color-base-400)",
    OrderStatus.PAID: "var(--color-primary-600)",
    OrderStatus.SHIPPED: "var(--color-primary-400)",
    OrderStatus.COMPLETED: "var(--color-primary-800)",
    OrderStatus.CANCELLED: "var(--color-base-300)",
    OrderStatus.REFUNDED: "var(--color-base-500)",
}


def visible_sections(user) -> list[str]:
    return [
        section
        for section, (list_permission, work_permission) in SECTION_PERMISSIONS.items()
        if user.has_perm(list_permission)
        and (user.has_perm(work_permission) or user.has_perm(EVERYTHING_READER))
    ]


# --- figures, cached per section ---------------------------------------------------------------------
def _sales_figures() -> dict:
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


def _stock_figures() -> dict:
    now = timezone.now()
    return {
        "computed_at": now,
        "stock": metrics.stock_summary(),
        "flow": metrics.stock_flow(now=now),
        "urgent": metrics.most_urgent_low_stock(),
    }


FIGURES = {SALES: _sales_figures, STOCK: _stock_figures}


def section_figures(section: str) -> dict:
    """The section's figures from the cache, computed and cached when missing (or the cache is down)."""
    key = CACHE_KEY.format(tenant=current_tenant().pk, section=section)
    figures = cache.get(key)
    if figures is None:
        figures = FIGURES[section]()
        cache.set(key, figures, settings.DASHBOARD_CACHE_SECONDS)
    return figures


# --- presentation --------------------------------------------------------------------------------------
def _url(name: str, params=None) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


def orders_url(*, statuses=(), first_day=None, last_day=None) -> str:
    params = [("status__exact", status) for status in statuses]
    if first_day:
        params.append(("created_at_from", first_day.isoformat()))
    if last_day:
        params.append(("created_at_to", last_day.isoformat()))
    return _url("admin:orders_order_changelist", params)


def products_url(state: StockState | None = None) -> str:
    return _url("admin:inventory_product_changelist", {"stock_state": state.value} if state else None)


def movements_url(*, kind: str, first_day) -> str:
    return _url(
        "admin:inventory_stockmovement_changelist",
        [("kind__exact", kind), ("created_at_from", first_day.isoformat())],
    )


def money(amount: Decimal) -> str:
    amount_text = number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{amount_text} {settings.ORDER_CURRENCY}"


def units(n: int) -> str:
    return number_format(n, force_grouping=True)


def _change(revenue: metrics.Revenue, key: str) -> dict:
    percent = revenue.change_percent
    against = PREVIOUS_PERIOD[key]
    if percent is None:
        return {"text": f"nothing to compare with {against}", "tone": "neutral"}
    sign = "+" if percent > 0 else ""
    tone = "up" if percent > 0 else "down" if percent < 0 else "neutral"
    return {"text": f"{sign}{percent}% against {against}", "tone": tone}


def _chart(labels, values, *, label: str, colours=None) -> str:
    dataset = {
        "label": label,
        "data": [float(v) if isinstance(v, Decimal) else v for v in values],
        "backgroundColor": colours or "var(--color-primary-600)",
        "borderColor": "var(--color-primary-600)",
        "displayYAxis": True,
    }
    return json.dumps({"labels": [str(x) for x in labels], "datasets": [dataset]})


def sales_context(figures: dict) -> dict:
    today = timezone.localdate(figures["computed_at"])
    revenue_cards = [
        {
            "title": PERIOD_TITLES[key],
            "value": money(revenue.amount),
            "detail": f"{units(revenue.orders)} order{'s' if revenue.orders != 1 else ''}",
            "change": _change(revenue, key),
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
        "revenue_chart": _chart(
            [day.strftime("%d %b") for day, _ in per_day],
            [amount for _, amount in per_day],
            label=f"Revenue ({settings.ORDER_CURRENCY})",
        ),
        "revenue_chart_href": orders_url(
            statuses=REVENUE_STATUSES, first_day=per_day[0][0], last_day=per_day[-1][0]
        ),
        "status_chart": _chart(
            [OrderStatus(status).label for status in by_status],
            by_status.values(),
            label="Orders",
            colours=[STATUS_COLOURS[status] for status in by_status],
        ),
        "status_chart_href": orders_url(first_day=per_day[0][0], last_day=per_day[-1][0]),
        "top_products_chart": _chart(
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


def stock_context(figures: dict, *, user) -> dict:
    stock, flow = figures["stock"], figures["flow"]
    ledger = user.has_perm("inventory.view_stockmovement")
    kind = StockMovement.Kind

    def flow_row(label, amount, kind_value, sign=""):
        href = movements_url(kind=kind_value, first_day=flow["first_day"]) if ledger else None
        return {"label": label, "value": f"{sign}{units(amount)}" if amount else "0", "href": href}

    return {
        "cards": [
            {
                "title": "Out of stock",
                "value": units(stock["out_of_stock"]),
                "detail": f"of {units(stock['products'])} products",
                "href": products_url(StockState.OUT),
            },
            {
                "title": "Low on stock",
                "value": units(stock["low_stock"]),
                "detail": "at or below their threshold",
                "href": products_url(StockState.LOW),
            },
            {
                "title": "Stock value",
                "value": money(stock["stock_value"]),
                "detail": "units in stock at their current prices",
                "href": products_url(),
            },
        ],
        "flow": [
            flow_row("Received", flow["received"], kind.RECEIPT, "+"),
            flow_row("Sold", flow["sold"], kind.SALE, "-"),
            flow_row("Adjusted up", flow["adjusted_in"], kind.ADJUSTMENT, "+"),
            flow_row("Adjusted down", flow["adjusted_out"], kind.ADJUSTMENT, "-"),
        ],
        "urgent": [
            {
                **row,
                "href": reverse("admin:inventory_product_change", args=[row["pk"]]),
            }
            for row in figures["urgent"]
        ],
        "urgent_href": products_url(StockState.LOW),
    }


def refresh_text(seconds: int) -> str:
    if seconds <= 0:
        return "computed for each visit"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "refreshed every minute" if minutes == 1 else f"refreshed every {minutes} minutes"
    return f"refreshed every {seconds} seconds"


def dashboard_callback(request, context):
    sections = visible_sections(request.user)
    figures = {section: section_figures(section) for section in sections}
    dashboard = {"sections": sections, "refresh": refresh_text(settings.DASHBOARD_CACHE_SECONDS)}
    if figures:
        # Sections may have been cached at different moments: the oldest says how stale the page is.
        dashboard["as_of"] = min(f["computed_at"] for f in figures.values())
    if SALES in figures:
        dashboard[SALES] = sales_context(figures[SALES])
    if STOCK in figures:
        dashboard[STOCK] = stock_context(figures[STOCK], user=request.user)
    if request.user.is_superuser:
        dashboard["warnings"] = trail_warnings()
    context["dashboard"] = dashboard
    context["title"] = "Dashboard"
    return context


def trail_warnings() -> list[str]:
    """The open shop's audit trail failed its last verification: superusers hear of it first."""
    from audit.sealing import latest_check

    check = latest_check()
    if check is None or check.ok:
        return []
    return [f"The audit trail failed verification at {check.checked_at:%Y-%m-%d %H:%M}: {check.message}"]
