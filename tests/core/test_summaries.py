"""The dashboard's summary tables stay exact whatever the services do, fold without changing a figure,
and are caught out and rebuilt when a bulk load paused them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.summaries import (
    summaries_check,
    summaries_current,
    summaries_fold,
    summaries_paused,
    summaries_rebuild,
    summaries_zone,
)
from inventory import metrics as stock_metrics
from inventory.models import Product, StockSummary
from inventory.services import InsufficientStock, product_update, stock_adjust
from orders import metrics as sales_metrics
from orders.models import Order, OrderSummary, ProductSalesSummary, ProductSalesWindow, SalesWindowStart
from orders.services import (
    OrderError,
    order_bulk_transition,
    order_cancel,
    order_complete,
    order_draft_create,
    order_lines_set,
    order_place,
    order_refund,
    order_ship,
)

pytestmark = pytest.mark.django_db


def exact() -> bool:
    return not any(summaries_check().values())


def figures() -> dict:
    now = timezone.now()
    return {
        "stock": stock_metrics.stock_summary(),
        "flow": stock_metrics.stock_flow(now=now),
        "days": sorted(sales_metrics.order_days(now=now), key=lambda d: (d.day, d.status)),
        "open": sales_metrics.open_orders_by_status(),
        "top": sales_metrics.top_products_by_units(now=now),
        "revenue": sales_metrics.revenue_by_period(now=now),
    }


@pytest.fixture
def catalogue(make_product, make_customer):
    products = [
        make_product(stock=12, price="10.00", low_stock_threshold=5),
        make_product(stock=3, price="4.50", low_stock_threshold=5),
        make_product(stock=0, price="25.00"),
        make_product(stock=40, price="1.99", low_stock_threshold=40),
    ]
    return products, make_customer()


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "place",
                "place_unpaid",
                "draft",
                "lines",
                "ship",
                "complete",
                "cancel",
                "refund_part",
                "refund_goods",
                "bulk_ship",
                "adjust",
                "price",
                "threshold",
                "back_date",
                "fold",
            ]
        ),
        st.integers(0, 3),
        st.integers(1, 4),
    ),
    min_size=1,
    max_size=8,
)


def apply(operation, index, amount, *, products, customer):
    product = Product.objects.get(pk=products[index].pk)
    orders = list(Order.objects.order_by("pk"))
    order = orders[index % len(orders)] if orders else None
    if operation in ("place", "place_unpaid"):
        order_place(customer=customer, lines={product: amount}, charge=operation == "place")
    elif operation == "draft":
        order_draft_create(customer=customer, lines={product: amount})
    elif operation == "lines" and order:
        order_lines_set(order=order, quantities={product.pk: amount})
    elif operation == "ship" and order:
        order_ship(order=order)
    elif operation == "complete" and order:
        order_complete(order=order)
    elif operation == "cancel" and order:
        order_cancel(order=order, reason="Changed their mind")
    elif operation == "refund_part" and order:
        order_refund(order=order, amount=Decimal(amount), reason="Goodwill")
    elif operation == "refund_goods" and order:
        line = order.items.first()
        if line:
            order_refund(order=order, returns={line: (1, "restock")}, reason="Came back")
    elif operation == "bulk_ship":
        order_bulk_transition(orders=orders, to="shipped", reason="Sent")
    elif operation == "adjust":
        stock_adjust(product=product, quantity=amount if index % 2 else -amount, reason="Counted")
    elif operation == "price":
        product_update(product=product, data={"price": Decimal(amount) + Decimal("0.25")})
    elif operation == "threshold":
        product_update(product=product, data={"low_stock_threshold": amount * 3})
    elif operation == "fold":
        summaries_fold()
    elif operation == "back_date" and order:
        # Not a service: the day an order counts under moves with it (set-up of older orders).
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=amount * 9))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_every_write_keeps_the_summaries_exact(catalogue, operations):
    products, customer = catalogue
    for operation, index, amount in operations:
        try:
            apply(operation, index, amount, products=products, customer=customer)
        except (OrderError, InsufficientStock, ValueError, TypeError) as refused:
            assert str(refused)  # refused with a message; nothing changed
        assert exact(), f"after {operation} {index} {amount}: {summaries_check()}"
        # The window's top products (its folded rows and deltas) are the days' top products.
        today = timezone.localdate()
        first_day = today - dt.timedelta(days=29)
        assert sales_metrics.top_from_window(limit=3)[1] == sales_metrics.top_from_days(
            first_day=first_day, last_day=today, limit=3
        )
    summaries_fold()
    assert exact()


def test_folding_changes_no_figure_and_leaves_one_row_per_key(catalogue):
    products, customer = catalogue
    first = order_place(customer=customer, lines={products[0]: 2, products[1]: 1})
    order_place(customer=customer, lines={products[0]: 1})
    order_ship(order=first)
    stock_adjust(product=products[3], quantity=-39, reason="Damaged")
    before = figures()
    assert OrderSummary.objects.filter(folded=False).count() > 1

    summaries_fold()

    assert figures() == before
    assert not OrderSummary.objects.filter(folded=False).exists()
    assert StockSummary.objects.count() == 1
    keys = ProductSalesSummary.objects.values_list("day", "status", "product_id")
    assert len(keys) == len(set(keys))
    # A key whose changes cancel out is gone: the order moved out of "paid" into "shipped".
    assert not ProductSalesSummary.objects.filter(status="paid", product_id=products[1].pk).exists()
    assert exact()


def test_a_paused_load_is_caught_by_the_check_and_rebuilt(catalogue, capsys):
    products, customer = catalogue
    order_place(customer=customer, lines={products[0]: 2})
    assert stock_metrics.stock_summary()["low_stock"] == 2
    with summaries_paused():
        Order.objects.update(status="completed")
        Product.objects.filter(pk=products[1].pk).update(stock=50)
    order_place(customer=customer, lines={products[0]: 1})  # after the pause: counted again

    assert summaries_check() == {
        "inventory_stocksummary": 2,  # the shop's row: its figures and the source's, each way
        "inventory_stockflowsummary": 0,
        # "paid" differs each way (2 orders counted, 1 left), "completed" is missing
        "orders_ordersummary": 3,
        "orders_productsalessummary": 3,
        "orders_productsaleswindow": 0,  # paid and completed both count as sold
    }
    with pytest.raises(CommandError, match="summaries --rebuild"):
        call_command("summaries", "--check")

    call_command("summaries", "--rebuild")

    assert "exact" in capsys.readouterr().out
    assert exact()
    assert sales_metrics.open_orders_by_status()["paid"] == 1
    assert stock_metrics.stock_summary()["low_stock"] == 1  # the product restocked to 50 isn't low now


def test_days_follow_the_site_zone_after_a_rebuild(catalogue, settings):
    products, customer = catalogue
    order = order_place(customer=customer, lines={products[0]: 1})
    # 23:30 UTC is the next day in Tokyo.
    late = timezone.now().replace(hour=23, minute=30) - dt.timedelta(days=2)
    Order.objects.filter(pk=order.pk).update(created_at=late)
    assert summaries_current()
    summaries_fold()
    utc_day = OrderSummary.objects.get(status="paid").day
    assert utc_day == late.date()

    settings.TIME_ZONE = "Asia/Tokyo"
    assert not summaries_current()
    summaries_rebuild()

    assert summaries_zone() == "Asia/Tokyo"
    assert OrderSummary.objects.get(status="paid").day == utc_day + dt.timedelta(days=1)
    assert exact()


def test_summaries_take_no_lock_that_writers_wait_for(catalogue):
    """Writers add delta rows and never update a shared one: two shops' worth of orders in one
    transaction leave only inserts behind (no row of a summary table was ever updated)."""
    products, customer = catalogue
    for _ in range(3):
        order_place(customer=customer, lines={products[0]: 1})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(n_tup_upd) FROM pg_stat_xact_user_tables WHERE relname IN "
            "('orders_ordersummary', 'orders_productsalessummary', 'inventory_stocksummary')"
        )
        assert cursor.fetchone()[0] == 0


def top_units():
    return [
        (row["product_id"], row["units"]) for row in sales_metrics.top_products_by_units(now=timezone.now())
    ]


def test_top_products_read_the_window_and_it_moves_with_the_days(catalogue):
    products, customer = catalogue
    recent = order_place(customer=customer, lines={products[0]: 2})
    old = order_place(customer=customer, lines={products[3]: 5})
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=28))
    assert top_units() == [(products[3].pk, 5), (products[0].pk, 2)]
    assert ProductSalesWindow.objects.filter(folded=False).exists()  # read with the deltas

    # Three days later (the window moves when the summaries are folded): the old order left it.
    SalesWindowStart.objects.filter(pk=1).update(first_day=F("first_day") - 3)
    Order.objects.filter(pk__in=[recent.pk, old.pk]).update(created_at=F("created_at") - dt.timedelta(days=3))
    expected = [(products[0].pk, 2)]
    # Not moved yet: the figures come from the units per day, and they are right.
    assert [
        (r["product_id"], r["units"]) for r in sales_metrics.top_products_by_units(now=timezone.now())
    ] == expected
    summaries_fold()

    assert SalesWindowStart.objects.get().first_day == timezone.localdate() - dt.timedelta(days=29)
    assert [
        (r["product_id"], r["units"]) for r in sales_metrics.top_products_by_units(now=timezone.now())
    ] == expected
    assert list(ProductSalesWindow.objects.values_list("product_id", "units")) == expected
    assert exact()
