"""The dashboard's stock section (registered in ``inventory.registrations``): products out of and low
on stock, the stock's value, units moved, the most urgent products; every figure links to the
products or ledger rows it counts."""

from django.urls import reverse
from django.utils import timezone

from core.figures import list_url, units
from core.money import format_money

from . import metrics
from .models import StockMovement
from .stock_state import StockState


def stock_figures() -> dict:
    now = timezone.now()
    return {
        "computed_at": now,
        "stock": metrics.stock_summary(),
        "flow": metrics.stock_flow(now=now),
        "urgent": metrics.most_urgent_low_stock(),
    }


def products_url(state: StockState | None = None) -> str:
    return list_url("admin:inventory_product_changelist", {"stock_state": state.value} if state else None)


def movements_url(*, kind: str, first_day) -> str:
    return list_url(
        "admin:inventory_stockmovement_changelist",
        [("kind__exact", kind), ("created_at_from", first_day.isoformat())],
    )


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
                "value": format_money(stock["stock_value"]),
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
