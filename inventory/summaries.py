"""The stock's summary tables, as ``core.summaries`` rebuilds and checks them: what each holds, computed
from the source rows (the triggers that keep them are in migration 0008)."""

from core.summaries import SummaryTable

STOCK_SUMMARY = SummaryTable(
    table="inventory_stocksummary",
    keys=("tenant_id",),
    values=("products", "out_of_stock", "low_stock", "stock_value"),
    sources=("inventory_product",),
    source="""
        SELECT tenant_id, count(*), count(*) FILTER (WHERE stock <= 0),
               count(*) FILTER (WHERE stock > 0 AND stock <= low_stock_threshold),
               coalesce(sum(stock * price), 0)
        FROM inventory_product GROUP BY tenant_id
    """,
)

STOCK_FLOW_SUMMARY = SummaryTable(
    table="inventory_stockflowsummary",
    keys=("tenant_id", "day", "kind"),
    values=("units_in", "units_out"),
    sources=("inventory_stockmovement",),
    source="""
        SELECT tenant_id, (created_at AT TIME ZONE backoffice_summary_zone())::date, kind,
               sum(greatest(quantity, 0)), sum(least(quantity, 0))
        FROM inventory_stockmovement GROUP BY 1, 2, 3
    """,
)
