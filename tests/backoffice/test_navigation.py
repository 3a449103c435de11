"""The sidebar per role, the environment badge, and the command palette's search."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from orders.services import order_place

pytestmark = pytest.mark.django_db


def sidebar(client) -> dict[str, list[str]]:
    """{group title: [item titles]} as the sidebar shows them to the logged-in user."""
    context = client.get("/admin/").context
    return {
        group["title"]: [item["title"] for item in group["items"] if item["has_permission"]]
        for group in context["sidebar_navigation"]
    }


def test_operations_sidebar(client_for, ops_user):
    assert sidebar(client_for(ops_user)) == {
        "Overview": ["Dashboard"],
        "Catalogue": ["Products", "Categories", "Stock movements", "Import jobs"],
        "Orders": ["Orders", "Order lines", "Payments", "Customers"],
        "E-mail": ["Outbox"],
        "Audit": ["Change sets", "Change requests", "Approval rules"],
    }


def test_support_sidebar(client_for, support_user):
    assert sidebar(client_for(support_user)) == {
        "Overview": ["Dashboard"],
        "Catalogue": ["Products", "Categories"],
        "Orders": ["Orders", "Order lines", "Payments", "Customers"],
        "E-mail": ["Outbox"],
        "Audit": ["Change sets", "Change requests", "Approval rules"],
    }


def test_auditor_sidebar_has_the_audit_log_and_administration(client_for, auditor):
    groups = sidebar(client_for(auditor))

    assert groups["Audit"] == ["Audit log", "Change sets", "Change requests", "Approval rules"]
    assert groups["E-mail"] == ["Outbox"]
    assert groups["Administration"] == ["Users", "Groups", "Login lock-outs"]


def test_every_sidebar_link_opens_for_whoever_sees_it(client_for, ops_user, support_user, auditor, superuser):
    for user in (ops_user, support_user, auditor, superuser):
        client = client_for(user)
        for group in client.get("/admin/").context["sidebar_navigation"]:
            for item in group["items"]:
                assert client.get(str(item["link"])).status_code == 200, (user.username, item["title"])


@pytest.mark.parametrize("name", ["Development", "Staging", "Production"])
def test_environment_badge(client_for, superuser, settings, name):
    settings.ENVIRONMENT_NAME = name

    response = client_for(superuser).get("/admin/")

    assert response.context["environment"][0] == name
    assert f">{name}<" in response.content.decode().replace("\n", "").replace(" ", "")


# --- search ----------------------------------------------------------------------------------------------
def search(client, term) -> list[tuple[str, str]]:
    response = client.get(reverse("admin:search"), {"s": term})
    assert response.status_code == 200
    return [(result.title, str(result.link)) for result in response.context["results"]]


@pytest.fixture
def findable(make_product, make_customer):
    lamp = make_product(name="Brass desk lamp", sku="LAMP-001")
    make_product(name="Paper shade", sku="SHADE-9")
    alice = make_customer(name="Alice Martin", email="alice@example.com")
    order = order_place(customer=alice, lines={lamp: 1})
    return lamp, alice, order


def test_search_finds_products_by_sku_prefix_and_name(client_for, ops_user, findable):
    lamp, _, _ = findable
    client = client_for(ops_user)
    lamp_link = reverse("admin:inventory_product_change", args=[lamp.pk])

    assert (str(lamp), lamp_link) in search(client, "lamp-0")  # the palette sends lower case
    assert (str(lamp), lamp_link) in search(client, "desk")
    assert all("Paper shade" not in title for title, _ in search(client, "desk"))


def test_search_finds_orders_by_number_and_customers_by_email(client_for, support_user, findable):
    _, alice, order = findable
    client = client_for(support_user)
    order_link = reverse("admin:orders_order_change", args=[order.pk])
    alice_link = reverse("admin:orders_customer_change", args=[alice.pk])

    assert (order.number, order_link) in search(client, order.number)
    assert (order.number, order_link) in search(client, str(order.pk))
    assert (str(alice), alice_link) in search(client, "alice@ex")


def test_search_shows_only_what_the_user_may_view(client_for, roles, findable):
    nobody = get_user_model().objects.create_user(username="temp", password="x", is_staff=True)

    assert search(client_for(nobody), "lamp") == []


def test_search_runs_a_bounded_number_of_queries(
    client_for, superuser, make_product, make_customer, django_assert_max_num_queries
):
    for n in range(30):
        make_product(name=f"Lamp model {n}", sku=f"LAMP-{n:03d}")
        make_customer(email=f"lamp{n}@example.com")
    client = client_for(superuser)

    with django_assert_max_num_queries(5):  # session, user, products, customers (no order number)
        results = search(client, "lamp")

    assert len([title for title, _ in results if title.startswith("Lamp model")]) == 10


def test_name_search_is_case_insensitive_and_takes_wildcards_literally(client_for, superuser, make_product):
    make_product(name="Lamp 100% brass")
    make_product(name="Lamp 1000 brass")
    client = client_for(superuser)

    assert [title for title, _ in search(client, "LAMP 100%")] == [
        title for title, _ in search(client, "lamp 100%") if title.startswith("Lamp 100%")
    ]
    assert len([t for t, _ in search(client, "lamp 100%") if t.startswith("Lamp")]) == 1
    assert len([t for t, _ in search(client, "mp_1") if t.startswith("Lamp")]) == 0


def test_name_search_can_use_the_trigram_indexes(findable):
    """Django's icontains (UPPER(name) LIKE ...) can't use a trigram index on name; ILIKE can."""
    from django.db import connection

    from core.search import command_matches
    from inventory.models import Product
    from orders.models import Customer

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test tables are tiny
        # The plans are read without the tenant condition: on a tiny table the planner would rather
        # use the tenant index; what matters is that the search condition itself can use its indexes.
        products = command_matches(
            Product.unscoped.all(), "desk", prefix={"sku": str.upper}, contains=["name"]
        )
        customers = command_matches(
            Customer.unscoped.all(), "martin", prefix={"email": str.lower}, contains=["name"]
        )
        product_plan, customer_plan = products.explain(), customers.explain()

    assert "product_name_trgm_idx" in product_plan, product_plan
    assert "product_sku_prefix_idx" in product_plan, product_plan
    assert "customer_name_trgm_idx" in customer_plan, customer_plan
    assert [p.name for p in products] == ["Brass desk lamp"]
