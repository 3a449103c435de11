"""The orders' summary tables, as ``core.summaries`` rebuilds and checks them: what each holds, computed
from the source rows (the triggers that keep them are in migration 0004)."""

from core.figures import CHART_DAYS
from core.summaries import SummaryTable

from .querysets import REVENUE_STATUSES

ORDER_SUMMARY = SummaryTable(
    table="orders_ordersummary",
    keys=("tenant_id", "day", "hour", "status"),
    values=("orders", "amount"),
    sources=("orders_order",),
    source="""
        SELECT tenant_id, (created_at AT TIME ZONE backoffice_summary_zone())::date,
               extract(hour FROM created_at AT TIME ZONE backoffice_summary_zone())::int, status,
               count(*), sum(total)
        FROM orders_order GROUP BY 1, 2, 3, 4
    """,
)

PRODUCT_SALES_SUMMARY = SummaryTable(
    table="orders_productsalessummary",
    keys=("tenant_id", "day", "status", "product_id"),
    values=("units",),
    sources=("orders_order", "orders_orderitem"),
    source="""
        SELECT o.tenant_id, (o.created_at AT TIME ZONE backoffice_summary_zone())::date, o.status,
               i.product_id, sum(i.quantity)
        FROM orders_orderitem i JOIN orders_order o ON o.id = i.order_id GROUP BY 1, 2, 3, 4
    """,
)

WINDOW_LOCK = 7_302_002  # writers of the window share it (migration 0004); its daily move holds it alone
WINDOW_FIRST_DAY = (
    f"(now() AT TIME ZONE backoffice_summary_zone())::date - {CHART_DAYS - 1}"  # today and the 29 before
)
_REVENUE = ", ".join(f"'{status}'" for status in REVENUE_STATUSES)


def sales_window_roll(cursor) -> None:
    """Move the sales window to start 29 days before today: the units of the days that left it go
    out (read from the product sales summary) in the same transaction, with every writer waiting."""
    current = f"SELECT first_day, {WINDOW_FIRST_DAY} FROM orders_saleswindowstart WHERE id = 1"
    cursor.execute(current)
    row = cursor.fetchone()
    if row is None or row[0] >= row[1]:
        return
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WINDOW_LOCK])
    cursor.execute(
        f"SELECT first_day, {WINDOW_FIRST_DAY} FROM orders_saleswindowstart WHERE id = 1 FOR UPDATE"
    )
    first, new_first = cursor.fetchone()
    if first >= new_first:  # another fold moved it meanwhile
        return
    cursor.execute(
        "INSERT INTO orders_productsaleswindow (tenant_id, folded, product_id, units) "
        "SELECT tenant_id, false, product_id, -sum(units) FROM orders_productsalessummary "
        "WHERE status = ANY(%s) AND day >= %s AND day < %s GROUP BY tenant_id, product_id "
        "HAVING sum(units) <> 0",
        [list(REVENUE_STATUSES), first, new_first],
    )
    cursor.execute("UPDATE orders_saleswindowstart SET first_day = %s WHERE id = 1", [new_first])


SALES_WINDOW = SummaryTable(
    table="orders_productsaleswindow",
    keys=("tenant_id", "product_id"),
    values=("units",),
    sources=("orders_order", "orders_orderitem"),
    source=f"""
        SELECT o.tenant_id, i.product_id, sum(i.quantity)
        FROM orders_orderitem i JOIN orders_order o ON o.id = i.order_id
        WHERE o.status IN ({_REVENUE})
          AND (o.created_at AT TIME ZONE backoffice_summary_zone())::date
              >= (SELECT first_day FROM orders_saleswindowstart WHERE id = 1)
        GROUP BY 1, 2
    """,
    before_rebuild=(
        f"INSERT INTO orders_saleswindowstart (id, first_day) VALUES (1, {WINDOW_FIRST_DAY}) "
        "ON CONFLICT (id) DO UPDATE SET first_day = EXCLUDED.first_day"
    ),
    roll=sales_window_roll,
)
