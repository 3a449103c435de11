import pytest
from django.urls import reverse

from audit.models import ChangeSet
from inventory.models import Category, Product
from tests.admin_helpers import action, has_message, query_count

pytestmark = pytest.mark.django_db
PRODUCTS = reverse("admin:inventory_product_changelist")


def test_stock_badges_are_red_orange_and_green(client_for, ops_user, make_product):
    make_product(stock=0, name="Empty shelf")
    make_product(stock=4, name="Almost gone")
    make_product(stock=10, name="At threshold")
    make_product(stock=80, name="Plenty")

    html = client_for(ops_user).get(PRODUCTS).content.decode()

    def badge_of(name):
        row = html[html.index(name) :]
        row = row[: row.index("</tr>")]
        return row

    assert "bg-red-100" in badge_of("Empty shelf") and "Out of stock" in badge_of("Empty shelf")
    assert "bg-orange-100" in badge_of("Almost gone") and "4 in stock" in badge_of("Almost gone")
    assert "bg-orange-100" in badge_of("At threshold")
    assert "bg-green-100" in badge_of("Plenty") and "80 in stock" in badge_of("Plenty")


def test_filter_by_stock_state_and_search_by_sku_prefix_or_name(client_for, ops_user, make_product):
    make_product(stock=0, name="Empty shelf", sku="AUD-001")
    make_product(stock=4, name="Almost gone", sku="AUD-002")
    make_product(stock=80, name="Plenty of lamps", sku="LMP-003")
    client = client_for(ops_user)

    low = client.get(PRODUCTS, {"stock_state": "low"})
    assert [p.name for p in low.context["cl"].result_list] == ["Almost gone"]
    by_sku = client.get(PRODUCTS, {"q": "aud-"})
    assert {p.sku for p in by_sku.context["cl"].result_list} == {"AUD-001", "AUD-002"}
    by_name = client.get(PRODUCTS, {"q": "lamps"})
    assert [p.sku for p in by_name.context["cl"].result_list] == ["LMP-003"]


def test_bulk_publish_reports_how_many_changed_and_writes_history_per_row(client_for, ops_user, make_product):
    drafts = [make_product(published=False) for _ in range(3)]
    already = make_product(published=True)

    response = action(client_for(ops_user), PRODUCTS, "publish", [*drafts, already])

    assert has_message(response, "3 products published (1 already was).")
    assert Product.objects.filter(is_published=True).count() == 4
    for product in drafts:
        latest = product.history.first()
        assert latest.history_change_reason == "Bulk publish" and latest.history_user == ops_user
        assert latest.is_published
    assert already.history.first().history_change_reason != "Bulk publish"


def test_bulk_publish_says_what_it_will_do_and_changes_nothing_until_confirmed(
    client_for, ops_user, make_product
):
    drafts = [make_product(published=False) for _ in range(2)]
    already = make_product(published=True)

    page = action(client_for(ops_user), PRODUCTS, "publish", [*drafts, already], confirm=False)

    assert "Bulk publish: 2 of the 3 selected products will be published (1 already is)." in (
        page.content.decode()
    )
    assert Product.objects.filter(is_published=True).count() == 1 and not ChangeSet.objects.exists()


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("publish", "is_published", True),
        ("unpublish", "is_published", False),
        ("feature", "is_featured", True),
        ("unfeature", "is_featured", False),
    ],
)
def test_a_bulk_action_on_products_already_in_that_state_changes_nothing_and_says_so(
    client_for, ops_user, make_product, name, field, value
):
    products = [make_product(published=value, is_featured=value) for _ in range(2)]

    response = action(client_for(ops_user), PRODUCTS, name, products)

    assert response.status_code == 200
    assert has_message(response, "0 products")
    assert has_message(response, "(2 already were)")
    assert all(getattr(p, field) == value for p in Product.objects.all())
    assert not ChangeSet.objects.exists()


@pytest.mark.parametrize(
    ("name", "field", "value", "verb"),
    [
        ("unpublish", "is_published", False, "unpublished"),
        ("feature", "is_featured", True, "featured"),
        ("unfeature", "is_featured", False, "no longer featured"),
    ],
)
def test_other_bulk_actions(client_for, ops_user, make_product, name, field, value, verb):
    products = [make_product(published=True, is_featured=not value) for _ in range(2)]
    response = action(client_for(ops_user), PRODUCTS, name, products)
    assert has_message(response, f"2 products {verb}.")
    assert all(getattr(p, field) == value for p in Product.objects.all())


def test_product_list_runs_the_same_number_of_queries_for_10_and_100_rows(client_for, ops_user, make_product):
    client = client_for(ops_user)
    categories = [Category.objects.create(name=f"Shelf {i}") for i in range(5)]
    for i in range(10):
        make_product(category=categories[i % 5])
    ten = query_count(client, PRODUCTS, model=Product, per_page=10)
    for i in range(90):
        make_product(category=categories[i % 5])
    hundred = query_count(client, PRODUCTS, model=Product, per_page=100)
    assert ten == hundred


def test_category_list_shows_product_counts_with_constant_queries(
    client_for, ops_user, make_category, make_product
):
    client = client_for(ops_user)
    url = reverse("admin:inventory_category_changelist")
    audio = make_category("Audio")
    for _ in range(3):
        make_product(category=audio)
    few = query_count(client, url, model=Category, per_page=10)
    for i in range(30):
        make_category(f"More {i}")
    assert query_count(client, url, model=Category, per_page=100) == few
    rows = {c.name: c.product_count for c in client.get(url).context["cl"].result_list}
    assert rows["Audio"] == 3


def test_deleting_a_category_with_products_is_refused_in_the_admin(
    client_for, superuser, make_category, make_product
):
    category = make_category("Speakers")
    make_product(category=category)
    client = client_for(superuser)
    url = reverse("admin:inventory_category_delete", args=[category.pk])

    page = client.get(url).content.decode()
    assert "still has 1 product(s)" in page
    client.post(url, {"post": "yes"})
    assert Category.objects.filter(pk=category.pk).exists()


def test_adjust_stock_dialog_on_a_product_page(client_for, ops_user, make_product):
    product = make_product(stock=5)
    client = client_for(ops_user)
    url = reverse("admin:inventory_product_adjust_stock", args=[product.pk])

    refused = client.post(url, {"quantity": "-9", "reason": "Count", "_form_submitted": "1"}, follow=True)
    assert has_message(refused, "5 available, 9 requested")
    assert Product.objects.get(pk=product.pk).stock == 5

    client.post(url, {"quantity": "7", "reason": "Delivery 42", "_form_submitted": "1"}, follow=True)
    assert Product.objects.get(pk=product.pk).stock == 12
    assert product.movements.first().reason == "Delivery 42"


def test_bulk_adjust_stock_asks_for_quantity_and_reason_then_applies_to_all(
    client_for, ops_user, make_product
):
    products = [make_product(stock=5), make_product(stock=1)]
    client = client_for(ops_user)

    page = action(client, PRODUCTS, "adjust_stock_selected", products)
    assert "Adjust stock of selected products" in page.content.decode()

    refused = action(
        client, PRODUCTS, "adjust_stock_selected", products, apply="1", quantity="-2", reason="Shrinkage"
    )
    assert has_message(refused, "1 available, 2 requested")
    assert sorted(Product.objects.values_list("stock", flat=True)) == [1, 5]

    done = action(
        client, PRODUCTS, "adjust_stock_selected", products, apply="1", quantity="3", reason="Delivery"
    )
    assert has_message(done, "Stock of 2 product(s) changed by +3.")
    assert sorted(Product.objects.values_list("stock", flat=True)) == [4, 8]


def test_stock_is_not_editable_on_the_product_form(client_for, ops_user, make_product):
    product = make_product(stock=5, name="Lamp")
    client = client_for(ops_user)
    url = reverse("admin:inventory_product_change", args=[product.pk])
    form = client.get(url).context["adminform"].form
    assert "stock" not in form.fields
    data = {
        "name": "Lamp renamed",
        "sku": product.sku,
        "category": product.category_id,
        "price": "10.00",
        "slug": product.slug,
        "description": "",
        "low_stock_threshold": "10",
        "metadata": "{}",
        "is_published": "on",
        "stock": "999",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "movements-TOTAL_FORMS": "0",
        "movements-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "Lamp renamed" and product.stock == 5
    assert product.history.first().history_change_reason == "Edited in the admin (name)"


def test_a_product_added_in_the_admin_is_saved_by_the_service_with_who_and_why(
    client_for, ops_user, make_category
):
    category = make_category("Lamps")
    data = {
        "name": "Desk lamp",
        "sku": " lamp-1 ",
        "category": category.pk,
        "price": "19.90",
        "slug": "",
        "description": "",
        "low_stock_threshold": "10",
        "metadata": "{}",
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-0-position": "0",
        "images-0-url": "https://example.com/lamp.jpg",
        "images-0-alt_text": "A lamp",
        "movements-TOTAL_FORMS": "0",
        "movements-INITIAL_FORMS": "0",
    }

    response = client_for(ops_user).post(reverse("admin:inventory_product_add"), data)

    assert response.status_code == 302
    product = Product.objects.get(sku="LAMP-1")
    created = product.history.get()
    assert (created.history_change_reason, created.history_user) == ("Created in the admin", ops_user)
    image = product.images.get()
    assert image.history.get().history_change_reason == "Saved in the admin"


def test_deleting_a_product_that_sold_is_refused_and_says_why(
    client_for, superuser, make_product, make_customer
):
    from orders.services import order_place

    product = make_product(stock=5, name="Lamp", sku="LAMP-1")
    order_place(customer=make_customer(), lines={product: 1})
    url = reverse("admin:inventory_product_delete", args=[product.pk])

    page = client_for(superuser).get(url).content.decode()

    assert "Lamp (LAMP-1) appears on order lines: unpublish it instead of deleting it." in page
    client_for(superuser).post(url, {"post": "yes"})
    assert Product.objects.filter(pk=product.pk).exists()


def test_the_stock_actions_need_the_adjust_stock_permission_not_just_change(client_for, make_product):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    editor = get_user_model().objects.create_user(username="editor", password="x", is_staff=True)
    editor.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="inventory", codename__in=["view_product", "change_product"]
        )
    )
    product = make_product(stock=5)
    client = client_for(editor)

    page = client.get(reverse("admin:inventory_product_change", args=[product.pk])).content.decode()
    assert "adjust_stock" not in page and "change_product" in str(editor.get_all_permissions())
    client.post(
        reverse("admin:inventory_product_adjust_stock", args=[product.pk]),
        {"quantity": "7", "reason": "Delivery", "_form_submitted": "1"},
    )
    action(client, PRODUCTS, "adjust_stock_selected", [product], apply="1", quantity="3", reason="Delivery")
    assert Product.objects.get(pk=product.pk).stock == 5 and product.movements.count() == 1
