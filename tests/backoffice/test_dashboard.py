"""The dashboard: its figures against data built here through the services, who sees what, where each
card leads, how many queries the page costs, and its caching."""

import datetime as dt
from decimal import Decimal
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from core.figures import midnight
from core.money import format_money
from inventory import metrics as stock_metrics
from inventory.models import Product
from inventory.services import stock_adjust
from orders import metrics as sales_metrics
from orders.dashboard import revenue_change
from orders.models import Order
from orders.services import order_cancel, order_complete, order_place, order_refund, order_ship

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/"


def midnight_days_ago(days: int) -> dt.datetime:
    """The start of a day ``days`` days back: always in the past, whatever time the test runs."""
    return midnight(timezone.localdate() - dt.timedelta(days=days))


def place(customer, lines, *, status="paid", days_ago=None):
    order = order_place(customer=customer, lines=lines, charge=status != "pending")
    path = {
        "paid": [],
        "pending": [],
        "shipped": [order_ship],
        "completed": [order_ship, order_complete],
        "cancelled": [partial(order_cancel, reason="Test")],
        "refunded": [partial(order_refund, amount=order.total, reason="Test")],
    }[status]
    for step in path:
        order = step(order=order)
    if days_ago is not None:
        # Test set-up only: orders can't be placed in the past through the service.
        Order.objects.filter(pk=order.pk).update(created_at=midnight_days_ago(days_ago))
        order.refresh_from_db()
    return order


@pytest.fixture
def shop(make_product, make_customer):
    """A catalogue with known stock states and orders spread over the last two months."""
    p = {
        "widget": make_product(name="Widget", stock=500, price="10.00"),
        "gadget": make_product(name="Gadget", stock=500, price="4.00"),
        "gizmo": make_product(name="Gizmo", stock=500, price="25.00"),
        "sprocket": make_product(name="Sprocket", stock=500, price="2.50"),
        # stock states: two low (cover 3/10 and 8/20), one out, one exactly at its threshold
        "low_a": make_product(name="Low A", stock=3, low_stock_threshold=10, price="1.00"),
        "low_b": make_product(name="Low B", stock=8, low_stock_threshold=20, price="1.00"),
        "at_threshold": make_product(name="At threshold", stock=5, low_stock_threshold=5, price="1.00"),
        "out": make_product(name="Gone", stock=0, price="9.00"),
    }
    c = make_customer()
    o = {
        "today": place(c, {p["widget"]: 2, p["gadget"]: 1}),  # 24.00 + tax
        "today_pending": place(c, {p["widget"]: 1}, status="pending"),
        "today_cancelled": place(c, {p["gizmo"]: 4}, status="cancelled"),
        "today_refunded": place(c, {p["gizmo"]: 1}, status="refunded"),
        "yesterday": place(c, {p["gadget"]: 5}, days_ago=1),
        "three_days": place(c, {p["gizmo"]: 1}, status="shipped", days_ago=3),
        "ten_days": place(c, {p["sprocket"]: 7}, days_ago=10),
        "twenty_days": place(c, {p["widget"]: 3}, status="completed", days_ago=20),
        "forty_five_days": place(c, {p["gizmo"]: 9}, days_ago=45),
    }
    return p, o


def total(*orders) -> Decimal:
    return sum((order.total for order in orders), Decimal("0.00"))


def test_revenue_per_period_and_change_against_the_period_before(shop):
    _, o = shop

    revenue = sales_metrics.revenue_by_period(now=timezone.now())

    # Pending, cancelled and refunded orders aren't revenue.
    assert revenue["today"].amount == total(o["today"])
    assert revenue["today"].orders == 1
    assert revenue["today"].previous_amount == total(o["yesterday"])
    assert revenue["7d"].amount == total(o["today"], o["yesterday"], o["three_days"])
    assert revenue["7d"].previous_amount == total(o["ten_days"])
    assert revenue["30d"].amount == total(
        o["today"], o["yesterday"], o["three_days"], o["ten_days"], o["twenty_days"]
    )
    assert revenue["30d"].orders == 5
    assert revenue["30d"].previous_amount == total(o["forty_five_days"])
    expected = (revenue["7d"].amount - total(o["ten_days"])) / total(o["ten_days"]) * 100
    assert revenue["7d"].change_percent == expected.quantize(Decimal("0.1"))


def test_yesterday_counts_only_up_to_this_time_of_day(make_product, make_customer):
    now = timezone.localtime()
    if (now.hour == 0 and now.minute < 2) or (now.hour == 23 and now.minute > 57):
        pytest.skip("too close to midnight for 'yesterday at this time' to be yesterday")
    customer, product = make_customer(), make_product(stock=50)
    earlier = place(customer, {product: 1})
    later = place(customer, {product: 2})
    Order.objects.filter(pk=earlier.pk).update(created_at=now - dt.timedelta(days=1, minutes=1))
    Order.objects.filter(pk=later.pk).update(created_at=now - dt.timedelta(days=1) + dt.timedelta(minutes=1))
    earlier.refresh_from_db()

    today = sales_metrics.revenue_by_period(now=now)["today"]

    assert today.amount == 0
    assert today.previous_amount == earlier.total  # the order placed later in the day isn't compared


def test_change_is_not_a_percentage_when_the_previous_period_had_nothing(make_product, make_customer):
    place(make_customer(), {make_product(): 1})

    today = sales_metrics.revenue_by_period(now=timezone.now())["today"]

    assert today.previous_amount == 0
    assert today.change_percent is None
    assert revenue_change(today, "today")["text"] == "nothing to compare with yesterday at this time"


def test_revenue_per_day_has_every_day_of_the_last_30_oldest_first(shop):
    _, o = shop

    days = sales_metrics.revenue_per_day(now=timezone.now())

    today = timezone.localdate()
    assert [day for day, _ in days] == [today - dt.timedelta(days=n) for n in range(29, -1, -1)]
    by_day = dict(days)
    assert by_day[today] == total(o["today"])
    assert by_day[today - dt.timedelta(days=1)] == total(o["yesterday"])
    assert by_day[today - dt.timedelta(days=3)] == total(o["three_days"])
    assert by_day[today - dt.timedelta(days=20)] == total(o["twenty_days"])
    assert by_day[today - dt.timedelta(days=2)] == 0
    assert sum(by_day.values()) == sales_metrics.revenue_by_period(now=timezone.now())["30d"].amount


def test_orders_by_status(shop):
    metrics_now = timezone.now()

    open_orders = {"pending": 1, "paid": 4, "partially_refunded": 0, "shipped": 1}
    assert sales_metrics.open_orders_by_status() == open_orders
    # The last 30 days: the order of 45 days ago isn't counted.
    assert sales_metrics.orders_by_status(now=metrics_now) == {
        "pending": 1,
        "paid": 3,
        "partially_refunded": 0,
        "shipped": 1,
        "completed": 1,
        "cancelled": 1,
        "refunded": 1,
    }


def test_a_partly_refunded_order_is_still_open(shop):
    paid = Order.objects.filter(status="paid").order_by("pk").first()
    order_refund(order=paid, amount=Decimal("1.00"), reason="Goodwill")

    assert sales_metrics.open_orders_by_status() == {
        "pending": 1,
        "paid": 3,
        "partially_refunded": 1,
        "shipped": 1,
    }


def test_top_products_count_units_of_revenue_orders_in_the_last_30_days(shop):
    p, _ = shop

    top = sales_metrics.top_products_by_units(now=timezone.now())

    # Gizmo: 1 shipped (the 4 cancelled, 1 refunded and 9 of 45 days ago don't count).
    assert [(row["product__name"], row["units"]) for row in top] == [
        ("Sprocket", 7),
        ("Gadget", 6),
        ("Widget", 5),
        ("Gizmo", 1),
    ]
    assert top[0]["product_id"] == p["sprocket"].pk


def test_stock_figures(shop):
    p, _ = shop
    stock = stock_metrics.stock_summary()

    assert stock["products"] == 8
    assert stock["out_of_stock"] == 1
    assert stock["low_stock"] == 3  # Low A, Low B and the one exactly at its threshold
    expected_value = sum((x.stock * x.price for x in Product.objects.all()), Decimal("0"))
    assert stock["stock_value"] == expected_value
    # Sold stock left the value: the widget went from 500 to 500 - 2 - 1 (pending) - 3.
    assert Product.objects.get(pk=p["widget"].pk).stock == 494


def test_most_urgent_low_stock_lowest_cover_first(shop, make_product):
    make_product(name="Low C", stock=1, low_stock_threshold=2)  # cover 0.5

    urgent = stock_metrics.most_urgent_low_stock()

    assert [row["name"] for row in urgent] == ["Low A", "Low B", "Low C", "At threshold"]


def test_stock_flow_counts_receipts_sales_and_adjustments(make_product, make_customer):
    a = make_product(stock=40)  # opening stock is a receipt
    b = make_product(stock=10)
    stock_adjust(product=a, quantity=5, reason="Found in the back")
    stock_adjust(product=b, quantity=-3, reason="Damaged")
    order = place(make_customer(), {a: 4, b: 2})
    order_cancel(order=order, reason="Test")  # puts stock back as a cancellation, not a sale

    flow = stock_metrics.stock_flow(now=timezone.now())

    assert flow["received"] == 50
    assert flow["sold"] == 6
    assert flow["adjusted_in"] == 5
    assert flow["adjusted_out"] == 3


# --- the page ------------------------------------------------------------------------------------------
def page_text(response) -> str:
    return response.content.decode()


def test_superuser_sees_every_card_with_links_to_filtered_lists(client_for, superuser, shop):
    response = client_for(superuser).get(DASHBOARD)

    assert response.status_code == 200
    assert response.context["title"] == "Dashboard"
    board = response.context["dashboard"]
    assert board["sections"] == ["sales", "stock"]
    html = page_text(response)
    assert 'id="dashboard-sales"' in html and 'id="dashboard-stock"' in html
    assert "/admin/inventory/product/?stock_state=low" in html
    assert "/admin/inventory/product/?stock_state=out" in html
    assert "/admin/orders/order/?status__exact=pending" in html
    # Charts are canvases with their data in attributes, drawn by Unfold's script (no inline script).
    assert html.count('<canvas class="chart"') == 3
    assert "<script>" not in html.split('id="dashboard"')[1]


def test_card_links_open_lists_with_the_counted_rows(client_for, superuser, shop):
    client = client_for(superuser)
    board = client.get(DASHBOARD).context["dashboard"]
    revenue_7d = board["sales"]["revenue_cards"][1]
    pending = board["sales"]["open_orders"]["rows"][0]
    low, out = board["stock"]["cards"][1], board["stock"]["cards"][0]

    assert client.get(revenue_7d["href"]).context["cl"].result_count == 3
    assert client.get(pending["href"]).context["cl"].result_count == 1
    assert client.get(board["sales"]["open_orders"]["href"]).context["cl"].result_count == 6
    assert client.get(low["href"]).context["cl"].result_count == 3
    assert client.get(out["href"]).context["cl"].result_count == 1
    received = board["stock"]["flow"][0]
    assert received["value"] == "+2,016"  # the opening stock of the 7 products that have some
    assert client.get(received["href"]).context["cl"].result_count == 7


def test_figures_on_the_page(client_for, superuser, shop):
    _, o = shop
    html = page_text(client_for(superuser).get(DASHBOARD))

    assert format_money(total(o["today"])) in html
    assert "Figures as of " in html and "refreshed every minute" in html
    urgent = html.split('id="dashboard-urgent"')[1]
    assert urgent.index("Low A") < urgent.index("Low B") < urgent.index("At threshold")


@pytest.mark.parametrize(
    ("role", "sections"),
    [("ops_user", ["stock"]), ("support_user", ["sales"]), ("auditor", ["sales", "stock"])],
)
def test_each_role_sees_the_cards_of_its_work(request, client_for, shop, role, sections):
    user = request.getfixturevalue(role)

    response = client_for(user).get(DASHBOARD)

    assert response.context["dashboard"]["sections"] == sections
    html = page_text(response)
    assert ('id="dashboard-sales"' in html) == ("sales" in sections)
    assert ('id="dashboard-stock"' in html) == ("stock" in sections)


def test_staff_without_a_role_get_no_figures(client_for, roles, shop):
    nobody = get_user_model().objects.create_user(username="temp", password="x", is_staff=True)

    response = client_for(nobody).get(DASHBOARD)

    assert response.context["dashboard"]["sections"] == []
    assert 'id="dashboard-empty"' in page_text(response)


def test_units_moved_link_to_the_stock_ledger(client_for, ops_user, shop):
    board = client_for(ops_user).get(DASHBOARD).context["dashboard"]

    ledger = reverse("admin:inventory_stockmovement_changelist")
    assert all(row["href"].startswith(ledger + "?kind__exact=") for row in board["stock"]["flow"])


def test_the_page_runs_a_bounded_number_of_queries(
    client_for, superuser, shop, make_product, make_customer, django_assert_max_num_queries
):
    client = client_for(superuser)
    cache.clear()
    # Tenant, session, user, 8 for the figures (revenue before this time: this hour's part from the
    # orders) and the audit trail's last check (then cached).
    with django_assert_max_num_queries(12) as cold:
        client.get(DASHBOARD)
    # More rows don't mean more queries.
    customer = make_customer()
    for _ in range(5):
        place(customer, {make_product(stock=3): 1})
    cache.clear()
    with django_assert_max_num_queries(len(cold.captured_queries)):
        client.get(DASHBOARD)


def test_figures_are_cached_for_the_configured_time(
    client_for, superuser, shop, make_product, make_customer, django_assert_max_num_queries, settings
):
    client = client_for(superuser)
    first = client.get(DASHBOARD).context["dashboard"]
    place(make_customer(), {make_product(stock=3, price="100.00"): 1})

    with django_assert_max_num_queries(2):  # session and user: no figure recomputed
        second = client.get(DASHBOARD).context["dashboard"]

    assert second["as_of"] == first["as_of"]
    assert second["sales"]["revenue_cards"][0]["value"] == first["sales"]["revenue_cards"][0]["value"]

    settings.DASHBOARD_CACHE_SECONDS = 0  # nothing cached: every visit recomputes
    cache.clear()
    third = client.get(DASHBOARD).context["dashboard"]
    assert third["sales"]["revenue_cards"][0]["value"] != first["sales"]["revenue_cards"][0]["value"]
    assert third["refresh"] == "computed for each visit"


@pytest.mark.parametrize("href", ["", "/admin/orders/order/?status__exact=paid"])
def test_the_dashboard_cards_are_unfolds_markup(href):
    def render(card, title):
        html = Template(
            "{% load unfold %}"
            f'{{% component "{card}" with title=title href=href %}}'
            f'{{% component "{title}" %}}1,204{{% endcomponent %}}{{% endcomponent %}}'
        ).render(Context({"title": "Open orders", "href": href}))
        return " ".join(html.replace("> <", "><").split())

    ours = render("admin/dashboard/card.html", "admin/dashboard/figure.html")
    assert ours == render("unfold/components/card.html", "unfold/components/title.html")
    assert "Open orders" in ours and "1,204" in ours
