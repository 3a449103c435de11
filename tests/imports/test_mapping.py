"""The mapping step: every column of the file goes to a column of ours or is ignored, each guess shown
with its reason and editable; a mapping saved under a name is used again for files like it, in its
shop only; templates to start from."""

import io

import openpyxl
import pytest
from django.urls import reverse

from backoffice.models import Tenant
from core.tenancy import activate
from imports.models import ImportMapping
from inventory.models import Category, Product
from orders.models import Customer
from tests.admin_helpers import has_message

from .helpers import column_field, confirm, remap, text, upload

pytestmark = pytest.mark.django_db

PRODUCTS = "inventory_product"
SUPPLIER = (
    "Article number;Title;Product type;Unit price;Qty;Notes\n"
    "A-100;Brass lamp;Home > Lighting;49.90;4;Warm light\n"
    "A-101;Steel lamp;Home > Lighting;39.90;2;\n"
)


def test_a_suppliers_columns_are_guessed_shown_with_why_and_mapped_by_hand(client_for, ops_user):
    client = client_for(ops_user)

    step = upload(client, PRODUCTS, "supplier.csv", SUPPLIER.encode())

    # Guesses from synonyms are shown to be checked: no preview yet.
    assert step.context.get("report") is None
    guesses = {item.header: (item.target, item.reason) for item in step.context["mapping"].guesses}
    assert guesses == {
        "Article number": ("sku", "often used for sku"),
        "Title": ("name", "often used for name"),
        "Product type": ("category", "often used for category"),
        "Unit price": ("price", "often used for price"),
        "Qty": ("stock", "often used for stock"),
        "Notes": ("", "no column of ours matches: ignored"),
    }
    assert "often used for price" in text(step)

    preview = remap(
        client,
        PRODUCTS,
        step,
        **{column_field(step, "Notes"): "description"},
        create_missing="on",
        save_as="Lamp supplier",
    )

    assert has_message(preview, "Mapping “Lamp supplier” saved")
    report = preview.context["report"]
    assert (report.created, report.invalid, report.ignored_columns) == (2, 0, [])
    assert report.planned == [(0, "Home", True), (1, "Lighting", True)]
    assert "your choice" in text(preview)
    assert "Where each of the 6 columns goes (6 imported, 0 ignored)" in text(preview)
    confirm(client, PRODUCTS, preview)
    lamp = Product.objects.get(sku="A-100")
    assert (lamp.description, lamp.stock, lamp.category.path) == ("Warm light", 4, "Home/Lighting")
    saved = ImportMapping.objects.get()
    assert saved.columns["notes"] == "description" and saved.create_missing and saved.user == ops_user


def test_a_saved_mapping_is_used_again_for_a_file_with_the_same_columns(client_for, ops_user):
    Category.objects.create(name="Lighting", slug="lighting")
    ImportMapping.objects.create(
        resource="products",
        name="Lamp supplier",
        columns={
            "article number": "sku",
            "title": "name",
            "product type": "",
            "unit price": "price",
            "qty": "stock",
            "notes": "description",
        },
    )
    content = SUPPLIER.replace("Home > Lighting", "lighting")
    client = client_for(ops_user)

    step = upload(client, PRODUCTS, "march.csv", content.encode())

    assert "Your saved mapping “Lamp supplier” was made for these columns" in text(step)
    # The saved mapping ignores the type: map it to category by hand once, and save again.
    assert step.context.get("report") is None
    assert "Choose the column of the file for category (required)" in text(step)
    fixed = remap(
        client, PRODUCTS, step, **{column_field(step, "Product type"): "category"}, save_as="Lamp supplier"
    )
    assert has_message(fixed, "Mapping “Lamp supplier” replaced")
    confirm(client, PRODUCTS, fixed)

    april = upload(client, PRODUCTS, "april.csv", content.replace("A-10", "B-10").encode())

    # Made for exactly these columns, certain: the preview comes at once, the columns folded above it.
    assert april.context["report"].created == 2
    assert '<details class="mb-4" id="import-mapping-columns">' in april.content.decode()
    assert {item.reason for item in april.context["mapping"].guesses} == {"saved mapping “Lamp supplier”"}
    confirm(client, PRODUCTS, april)
    assert Product.objects.filter(sku__startswith="B-10", category__slug="lighting").count() == 2


def test_saved_mappings_belong_to_their_shop(client_for, ops_user):
    ImportMapping.objects.create(resource="products", name="Main supplier", columns={"title": "name"})
    acme = Tenant.objects.create(name="Acme", subdomain="acme")
    ops_user.tenants.add(acme, Tenant.objects.get(subdomain="main"))

    with activate(acme):
        assert not ImportMapping.objects.exists()
    page = client_for(ops_user).get(reverse("admin:inventory_product_import"), HTTP_HOST="acme.localhost")
    assert "Main supplier" not in page.content.decode()
    assert (
        "Saved mapping: Main supplier"
        in client_for(ops_user).get(reverse("admin:inventory_product_import")).content.decode()
    )


def test_two_columns_for_one_field_or_a_required_field_left_out_are_named(client_for, ops_user):
    Category.objects.create(name="Lighting", slug="lighting")
    client = client_for(ops_user)
    step = upload(client, PRODUCTS, "p.csv", b"sku,name,category,price,cost\nL-1,Lamp,lighting,3,2\n")

    twice = remap(client, PRODUCTS, step, **{column_field(step, "cost"): "price"})
    assert "“price” and “cost” both go to price: choose one." in text(twice)
    assert twice.context.get("report") is None

    none = remap(client, PRODUCTS, step, **{column_field(step, "price"): ""})
    assert "Choose the column of the file for price (required)" in text(none)


def test_ignored_columns_are_listed_by_the_preview(client_for, ops_user):
    Category.objects.create(name="Lighting", slug="lighting")
    preview = upload(
        client_for(ops_user),
        PRODUCTS,
        "p.csv",
        b"sku,name,category,price,colour,weight\nL-1,Lamp,lighting,3,red,2\n",
    )

    assert preview.context["report"].ignored_columns == ["colour", "weight"]
    assert "Columns left out (not products columns): colour, weight." in text(preview)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_template_has_every_column_and_an_example_row_and_imports(client_for, ops_user, kind):
    client = client_for(ops_user)
    page = client.get(reverse("admin:inventory_product_import"))
    url = reverse("admin:inventory_product_import_template", args=[kind])
    assert url in page.content.decode()

    response = client.get(url)

    assert response["Content-Disposition"] == f'attachment; filename="products-template.{kind}"'
    if kind == "csv":
        header, example = response.content.decode("utf-8-sig").splitlines()
        assert (
            header
            == "sku,name,category,price,stock,low_stock_threshold,is_published,is_featured,description,images"
        )
        assert example.startswith("LAMP-001,Desk lamp,Home > Lighting,49.90,12,5,yes,no,")
    else:
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        rows = list(book.active.iter_rows(values_only=True))
        assert rows[0][:4] == ("sku", "name", "category", "price") and rows[1][:2] == (
            "LAMP-001",
            "Desk lamp",
        )
        assert book["Columns"]["A2"].value == "sku"
    # The template imports as it is (its category created on request).
    step = upload(client, PRODUCTS, f"template.{kind}", response.content)
    preview = remap(client, PRODUCTS, step, create_missing="on")
    confirm(client, PRODUCTS, preview)
    lamp = Product.objects.get(sku="LAMP-001")
    assert lamp.category.path == "Home/Lighting" and lamp.images.count() == 2


def test_categories_and_customers_are_mapped_the_same_way(client_for, superuser):
    client = client_for(superuser)
    categories = upload(
        client,
        "inventory_category",
        "cats.csv",
        "Category name;Parent category\nDesk lamps;Home > Lighting\n".encode("cp1252"),
    )
    assert {item.header: item.target for item in categories.context["mapping"].guesses} == {
        "Category name": "name",
        "Parent category": "parent",
    }
    preview = remap(client, "inventory_category", categories, create_missing="on")
    assert preview.context["report"].planned == [(0, "Home", True), (1, "Lighting", True)]
    confirm(client, "inventory_category", preview)
    assert Category.objects.get(name="Desk lamps").path == "Home/Lighting/Desk lamps"

    customers = upload(
        client, "orders_customer", "crm.csv", b"E-mail address,Full name,Mobile\nann@example.com,Ann,555\n"
    )
    preview = remap(client, "orders_customer", customers)
    confirm(client, "orders_customer", preview)
    assert Customer.objects.get(email="ann@example.com").phone == "555"
