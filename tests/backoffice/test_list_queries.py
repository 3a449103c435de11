"""Every admin list runs the same few queries whatever the page size, filter, search, sort or depth;
deep pages and "Next" links show the rows offset paging would; big lists show an estimated count."""

import io
import re

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from inventory.models import Category, Product, StockMovement
from orders.models import Customer, Order, OrderItem
from tests.admin_helpers import query_count

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10


@pytest.fixture
def shop(settings):
    """A small demo shop: every list has more than 10 rows (most more than 20), so pages of 10 and
    of 100 rows differ."""
    settings.DEBUG = True
    call_command(
        "seed_demo", products=40, customers=25, orders=30, no_users=True, seed=3, stdout=io.StringIO()
    )
    return {
        "category": Category.objects.filter(children__isnull=True).order_by("name").first(),
        "product": Product.objects.order_by("sku").first(),
        "customer": Customer.objects.order_by("pk").first(),
        "order": Order.objects.order_by("pk").first(),
    }


@pytest.fixture
def pages_of_10(monkeypatch):
    for model_admin in admin.site._registry.values():
        monkeypatch.setattr(model_admin, "list_per_page", 10)


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def sort_by(model, column, user) -> str:
    """The ``o`` value sorting the model's list by ``column`` (``-column``: descending): its position
    among the columns, the action checkbox first when the list has actions."""
    from django.test import RequestFactory

    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = user
    columns = list(model_admin.get_list_display(request))
    if model_admin.get_actions(request):
        columns = ["action_checkbox", *columns]
    index = columns.index(column.lstrip("-"))
    return f"-{index}" if column.startswith("-") else str(index)


def resolve(model, query, shop, user):
    """``?o=@-total_money`` -> ``?o=-5``; ``{order.number}`` -> the shop's first order's number."""
    query = re.sub(r"o=@([-\w]+)", lambda m: "o=" + sort_by(model, m.group(1), user), query)
    return query.format(**shop)


# (model, query string) pairs: the first page, a filter, a search, a sort, as staff use them.
LISTS = {
    "categories": (Category, ["", "?q=phone", "?o=@-product_count"]),
    "products": (
        Product,
        [
            "",
            "?is_published__exact=1",
            "?category__id__exact={category.pk}",
            "?stock_state=low",
            "?q=lamp",
            "?q={product.sku}",
            "?o=@price_money",
        ],
    ),
    "customers": (
        Customer,
        [
            "",
            "?q={customer.email}",
            "?q=a",
            "?o=@-created_at",
            "?o=@order_count",
            "?created_at_from=2020-01-01",
        ],
    ),
    "orders": (
        Order,
        ["", "?status__exact=completed", "?q={order.number}", "?q=a", "?o=@-total_money", "?o=@customer"],
    ),
    "order lines": (
        OrderItem,
        ["", "?product__id__exact={product.pk}", "?q={order.number}", "?o=@order", "?o=@quantity"],
    ),
    "audit log": (
        AuditEntry,
        ["", "?action__exact=created", "?q=lamp", "?o=@created_at", "?user__id__exact=1"],
    ),
    "stock movements": (
        StockMovement,
        ["", "?kind__exact=receipt", "?o=@created_at", "?product__id__exact={product.pk}"],
    ),
}


@pytest.mark.parametrize(
    ("model", "query"),
    [
        pytest.param(model, query, id=f"{name} {query or 'first page'}")
        for name, (model, queries) in LISTS.items()
        for query in queries
    ],
)
def test_every_list_runs_the_same_few_queries_for_10_and_100_rows_a_page(
    client_for, superuser, shop, model, query
):
    client = client_for(superuser)
    url = changelist(model) + resolve(model, query, shop, superuser)
    ten = query_count(client, url, model=model, per_page=10)
    hundred = query_count(client, url, model=model, per_page=100)
    assert ten == hundred
    assert ten <= MAX_QUERIES


def rows_of(response):
    return [obj.pk for obj in response.context["cl"].result_list]


def next_link(response):
    match = re.search(r'href="(\?[^"]*after=[^"]*)"[^>]*rel="next"', response.content.decode())
    return match and match.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("model", [Product, Customer, Order, OrderItem, AuditEntry, StockMovement])
def test_next_page_links_walk_the_list_in_order_at_the_same_cost_as_page_one(
    client_for, superuser, shop, pages_of_10, model
):
    """Following "Next page" shows the rows numbered pages show, with no more queries at page 2."""
    client = client_for(superuser)
    url = changelist(model)
    model_admin = admin.site._registry[model]
    numbered = [rows_of(client.get(url, {"p": page})) for page in (1, 2)]

    first = client.get(url)
    link = next_link(first)
    assert link, "a list longer than a page links to its next page"
    with CaptureQueriesContext(connection) as page_two:
        second = client.get(url + link)
    assert rows_of(second) == numbered[1]
    assert len(page_two) <= query_count(client, url, model=model)
    assert "First page" in second.content.decode()
    assert rows_of(first) == numbered[0] and len(numbered[1]) == model_admin.list_per_page


def test_a_sorted_list_keeps_its_sort_and_filter_on_the_next_page(client_for, superuser, shop, pages_of_10):
    client = client_for(superuser)
    url = changelist(Product)
    price = sort_by(Product, "price_money", superuser)
    params = {"o": price, "is_published__exact": "1"}  # cheapest first; published only
    expected = rows_of(client.get(url, {**params, "p": 2}))
    link = next_link(client.get(url, params))
    assert f"o={price}" in link and "is_published__exact=1" in link
    assert rows_of(client.get(url + link)) == expected


def test_a_list_sorted_by_a_computed_column_pages_by_number_only(client_for, superuser, shop, pages_of_10):
    client = client_for(superuser)
    orders = sort_by(Customer, "order_count", superuser)  # a count per customer: no position to seek
    response = client.get(changelist(Customer), {"o": orders})
    assert next_link(response) is None
    assert f"?o={orders}&amp;p=2" in response.content.decode()


def test_a_bad_position_falls_back_to_the_first_page_with_an_error_flag(client_for, superuser, shop):
    response = client_for(superuser).get(changelist(Order), {"after": "not-a-position"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_deep_numbered_pages_read_keys_first_and_show_the_same_rows(
    client_for, superuser, shop, pages_of_10, monkeypatch
):
    client = client_for(superuser)
    url = changelist(Order)
    shallow = rows_of(client.get(url, {"p": 3}))
    normal_queries = query_count(client, url + "?p=3")
    monkeypatch.setattr("core.pagination.DEEP_OFFSET", 15)  # page 3 starts at row 20: "deep"
    with CaptureQueriesContext(connection) as deep_queries:
        deep = rows_of(client.get(url, {"p": 3}))
    assert deep == shallow
    assert len(deep_queries) == normal_queries + 1  # the page's keys, then its rows
    assert any(
        "OFFSET 20" in q["sql"] and "item_count" not in q["sql"] for q in deep_queries.captured_queries
    )


def test_numbered_links_stop_after_the_first_pages_of_a_long_list(
    client_for, superuser, shop, pages_of_10, monkeypatch
):
    monkeypatch.setattr("core.pagination.EstimatedCountPaginator.linked_pages", 2)
    client = client_for(superuser)
    response = client.get(changelist(Product))  # 40 products: 4 pages
    page = response.content.decode()
    assert "?p=2" in page and "?p=3" not in page and "?p=4" not in page
    assert next_link(response)


def test_the_order_date_drill_down_offers_the_range_of_orders_without_scanning_them(
    client_for, superuser, shop
):
    client = client_for(superuser)
    first, last = (
        Order.objects.order_by(field).values_list("created_at", flat=True).first()
        for field in ("created_at", "-created_at")
    )
    with CaptureQueriesContext(connection) as queries:
        page = client.get(changelist(Order)).content.decode()
    assert not any("DISTINCT" in q["sql"] and "orders_order" in q["sql"] for q in queries.captured_queries)
    from django.utils import timezone

    first, last = timezone.localtime(first), timezone.localtime(last)
    if first.year != last.year:
        for year in range(first.year, last.year + 1):
            assert f"created_at__year={year}" in page
    # A chosen month offers its days from the first order to the last, each link filtering that day.
    month = client.get(changelist(Order), {"created_at__year": last.year, "created_at__month": last.month})
    assert f"created_at__day={last.day}" in month.content.decode()
    day = client.get(
        changelist(Order),
        {"created_at__year": last.year, "created_at__month": last.month, "created_at__day": last.day},
    )
    assert all(timezone.localtime(o.created_at).date() == last.date() for o in day.context["cl"].result_list)


def test_a_big_unfiltered_list_shows_an_estimate_and_a_filtered_one_an_exact_count(
    client_for, superuser, shop, monkeypatch
):
    monkeypatch.setattr("core.pagination.ESTIMATE_ABOVE", 20)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_product")
    client = client_for(superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist(Product))
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert re.search(r"about\s+\d+\s+products", response.content.decode())
    published = Product.objects.filter(is_published=True).count()
    filtered = client.get(changelist(Product), {"is_published__exact": "1"})
    assert filtered.context["cl"].result_count == published
    assert (
        "about" not in re.sub(r"\s+", " ", filtered.content.decode()).split(f" {published} products")[0][-10:]
    )


def test_sorting_by_a_foreign_key_column_groups_rows_by_it_on_its_index(client_for, superuser, shop):
    client = client_for(superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist(OrderItem), {"o": "-" + sort_by(OrderItem, "order", superuser)})
    lines = response.context["cl"].result_list
    assert [line.order_id for line in lines] == sorted((line.order_id for line in lines), reverse=True)
    listing = next(
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "orders_orderitem"' in q["sql"] and "ORDER BY" in q["sql"]
    )
    assert 'ORDER BY "orders_orderitem"."order_id" DESC' in listing


def test_order_lines_are_found_by_order_number_and_by_sku(client_for, superuser, shop):
    client = client_for(superuser)
    order = Order.objects.filter(items__isnull=False).order_by("pk").first()
    found = client.get(changelist(OrderItem), {"q": order.number}).context["cl"].result_list
    assert {line.pk for line in found} == set(order.items.values_list("pk", flat=True))
    line = OrderItem.objects.order_by("pk").first()
    found = client.get(changelist(OrderItem), {"q": line.product.sku.lower()}).context["cl"].result_list
    assert {x.pk for x in found} == set(
        OrderItem.objects.filter(product=line.product).values_list("pk", flat=True)
    )


def test_the_audit_log_finds_an_orders_entries_by_its_number(client_for, superuser, shop):
    from orders.services import order_place

    product = Product.objects.filter(is_published=True, stock__gte=5).first()
    order = order_place(customer=shop["customer"], lines={product: 1}, charge=False, user=superuser)
    response = client_for(superuser).get(changelist(AuditEntry), {"q": order.number.lower()})
    entries = response.context["cl"].result_list
    assert entries and {(e.content_type.model, e.object_id) for e in entries} == {("order", str(order.pk))}


def test_a_big_catalogue_shows_estimated_product_counts_per_category(
    client_for, superuser, shop, monkeypatch
):
    monkeypatch.setattr("core.pagination.ESTIMATE_ABOVE", 20)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_product")  # statistics over every row of a small table: exact
    response = client_for(superuser).get(
        changelist(Category), {"o": "-" + sort_by(Category, "product_count", superuser)}
    )
    rows = response.context["cl"].result_list
    exact = {c.pk: c.products.count() for c in rows}
    assert [c.product_count for c in rows] == sorted(exact.values(), reverse=True)
    assert all(c.product_count == exact[c.pk] for c in rows)
    assert f"about {rows[0].product_count:,}" in response.content.decode()


def test_a_filter_matching_many_rows_says_more_than_the_cap_at_once_and_counts_on_demand(
    client_for, superuser, shop, monkeypatch
):
    monkeypatch.setattr("core.pagination.COUNT_CAP", 5)
    client = client_for(superuser)
    published = Product.objects.filter(is_published=True).count()
    assert published > 5
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist(Product), {"is_published__exact": "1"})
    page = re.sub(r"\s+", " ", response.content.decode())
    assert "more than 5 products" in page
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 6" in sql for sql in counts), "the count stops past the cap"

    link = re.search(r'href="([^"]*count=exact[^"]*)"[^>]*>Count them all', page).group(1)
    exact = client.get(changelist(Product) + link.replace("&amp;", "&"))
    assert exact.context["cl"].result_count == published
    assert f"{published} products" in re.sub(r"\s+", " ", exact.content.decode())
    assert "Count them all" not in exact.content.decode()
    # The exact count is of the same filter, and the filter still pages.
    assert all(p.is_published for p in exact.context["cl"].result_list)


def test_a_searchs_count_reads_only_the_matching_keys_not_the_lists_figures(client_for, superuser, shop):
    """The customers' list shows each one's orders and lifetime value (a subquery per row): counting
    the matches of a search must not compute them for each of up to 10,000 matches."""
    customer = Customer.objects.order_by("pk").first()
    with CaptureQueriesContext(connection) as queries:
        response = client_for(superuser).get(changelist(Customer), {"q": customer.email})
    assert response.context["cl"].result_count >= 1
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("SELECT COUNT(")]
    assert counts, "the search is counted"
    assert all("orders_order" not in sql for sql in counts), counts


def test_a_filter_matching_few_rows_shows_its_exact_count_without_a_link(
    client_for, superuser, shop, monkeypatch
):
    monkeypatch.setattr("core.pagination.COUNT_CAP", 5)
    product = Product.objects.order_by("pk").first()
    response = client_for(superuser).get(changelist(Product), {"q": product.sku})
    assert response.context["cl"].result_count == 1
    assert "Count them all" not in response.content.decode()
