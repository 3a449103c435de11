"""Files and numbers built to hurt: every one gets a clear message at once and changes nothing, in the
shell, in the admin's preview and in its confirmation alike."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from audit.models import ChangeSet
from imports.models import ImportJob
from inventory.models import Category, Product, StockMovement
from tests.admin_helpers import has_message

pytestmark = pytest.mark.django_db

PRODUCT_IMPORT = reverse("admin:inventory_product_import")
PRODUCT_CONFIRM = reverse("admin:inventory_product_process_import")
FORMAT = {"csv": "csv", "xlsx": "xlsx", "json": "json"}


@pytest.fixture
def phones(db):
    return Category.objects.create(name="Phones", slug="phones")


def run(tmp_path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    out = StringIO()
    call_command("import_products", str(path), "--no-progress", stdout=out, stderr=out)
    return out.getvalue()


def preview(client, name: str, content: bytes):
    file = SimpleUploadedFile(name, content)
    kind = name.rsplit(".", 1)[1]
    response = client.post(PRODUCT_IMPORT, {"format": FORMAT[kind], "import_file": file})
    assert response.status_code == 200
    return response


def confirm(client, response):
    form = response.context["confirm_form"]
    return client.post(
        PRODUCT_CONFIRM, {name: form.initial.get(name, "") for name in form.fields}, follow=True
    )


def nothing_written():
    return not (
        Product.objects.exists()
        or StockMovement.objects.exists()
        or ChangeSet.objects.exists()
        or ImportJob.objects.exists()
    )


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("stock", "1e999999", "is too large (at most 2,147,483,647)"),
        ("stock", "9" * 5000, "is not a number (it is 5,000 characters long)"),
        ("stock", "-1e999999", "is negative"),
        ("price", "1e26", "is too large (at most 9999999999.99)"),
        ("price", "1e309", "is too large (at most 9999999999.99)"),
        ("price", "1e-999999", "has more than 2 decimal places"),
        ("price", "sNaN", "is not a price"),
        ("low_stock_threshold", "2147483648", "is too large"),
    ],
)
def test_numbers_beyond_their_column_are_refused_before_any_arithmetic(
    tmp_path, client_for, ops_user, phones, column, cell, message
):
    row = {"sku": "P-1", "name": "Lamp", "category": "phones", "price": "1.00", "stock": "1"}
    row[column] = cell
    content = (",".join(row) + "\n" + ",".join(row.values()) + "\n").encode()

    with pytest.raises(CommandError, match="Fix rows 2"):
        run(tmp_path, "numbers.csv", content)
    page = preview(client_for(ops_user), "numbers.csv", content).content.decode()

    assert message in page and "Nothing can be imported until these rows are fixed: row 2." in page
    assert nothing_written()


def test_a_nul_byte_is_a_row_to_fix_not_a_failed_import(tmp_path, client_for, ops_user, phones):
    content = b"sku,name,category,price\nP-1,Lamp\x00,phones,1.00\nP-2,Desk,phones,2.00\n"

    with pytest.raises(CommandError, match="Fix rows 2"):
        run(tmp_path, "nul.csv", content)
    page = preview(client_for(ops_user), "nul.csv", content)

    assert "contains a NUL character" in page.content.decode()
    assert page.context.get("confirm_form") is None  # nothing to confirm
    assert nothing_written()


def test_old_mac_line_ends_are_read_the_same_in_the_shell_preview_and_import(
    tmp_path, client_for, ops_user, phones
):
    content = b"sku,name,category,price\rP-1,Lamp,phones,1.00\rP-2,Desk,phones,2.00\r"

    client = client_for(ops_user)
    page = preview(client, "mac.csv", content)
    assert "2 rows: 2 new" in " ".join(page.content.decode().split())
    done = confirm(client, page)

    assert has_message(done, "Imported mac.csv: 2 new")
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["P-1", "P-2"]
    assert list(ImportJob.objects.values_list("status", flat=True)) == ["done"]  # none left queued
    assert "2 rows: 0 new, 0 changed, 2 unchanged" in run(tmp_path, "mac.csv", content)


def test_semicolon_files_are_read_by_the_admin_as_by_the_shell(client_for, ops_user, phones):
    client = client_for(ops_user)
    page = preview(
        client, "excel.csv", b"sku;name;category;price\nP-1;Lampe;phones;1,5\nP-2;Bureau;phones;2\n"
    )

    text = " ".join(page.content.decode().split())
    assert "2 rows: 1 new, 0 changed, 0 unchanged, 1 invalid" in text
    assert "“1,5” is not a price" in text  # a decimal comma is named, not silently misread


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests lists or objects too deeply"),
        ('[{"sku": {"a": 1}, "name": "x", "category": "phones", "price": 1}]', "Row 1, sku: is an object"),
        ('[{"sku": ["A"], "name": "x", "category": "phones", "price": 1}]', "Row 1, sku: is a list"),
    ],
)
def test_json_that_isnt_a_list_of_flat_objects_is_refused(
    tmp_path, client_for, ops_user, phones, content, message
):
    with pytest.raises(CommandError, match=message):
        run(tmp_path, "odd.json", content.encode())
    page = preview(client_for(ops_user), "odd.json", content.encode())

    assert message in page.content.decode()
    assert nothing_written()


def test_a_json_number_of_thousands_of_digits_is_refused(tmp_path, phones):
    content = json.dumps([{"sku": "P-1", "name": "x", "category": "phones", "price": 1}])
    content = content.replace('"price": 1', '"price": 1, "stock": ' + "7" * 5000)

    with pytest.raises(CommandError, match="Fix rows 1"):
        run(tmp_path, "long.json", content.encode())
    assert nothing_written()


@pytest.mark.parametrize("content", [b"PK\x03\x04not really a zip", b"\x00" * 100, b"sku,name\n"])
def test_a_damaged_workbook_is_named_as_such(tmp_path, client_for, ops_user, content):
    with pytest.raises(CommandError, match="not an Excel workbook"):
        run(tmp_path, "damaged.xlsx", content)
    page = preview(client_for(ops_user), "damaged.xlsx", content)

    assert "not an Excel workbook" in page.content.decode()
    assert nothing_written()


def test_a_stock_adjustment_beyond_the_column_is_a_form_error(client_for, ops_user, make_product):
    from inventory.services import CatalogueError, stock_adjust

    product = make_product(stock=5)
    url = reverse("admin:inventory_product_adjust_stock", args=[product.pk])

    response = client_for(ops_user).post(
        url, {"_form_submitted": "on", "quantity": "99999999999", "reason": "x"}
    )

    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 2147483647" in response.content.decode()
    with pytest.raises(CatalogueError, match="more than a product can hold"):
        stock_adjust(product=product, quantity=99_999_999_999, reason="x")
    with pytest.raises(CatalogueError, match="would hold 2,147,483,652 units"):
        stock_adjust(product=product, quantity=2_147_483_647, reason="x")
    product.refresh_from_db()
    assert product.stock == 5 and product.movements.count() == 1


def test_category_and_customer_files_are_checked_for_nul_and_length_too(client_for, superuser):
    client = client_for(superuser)
    categories = SimpleUploadedFile("c.csv", b"name,slug\nLamps\x00,lamps\nDesks,desks\n")
    customers = SimpleUploadedFile(
        "k.csv", b"email,name,default_shipping_address\na@example.com,Ada," + b"x" * 20_001 + b"\n"
    )

    for url, file in (
        (reverse("admin:inventory_category_import"), categories),
        (reverse("admin:orders_customer_import"), customers),
    ):
        page = client.post(url, {"format": "csv", "import_file": file})
        assert page.status_code == 200 and page.context.get("confirm_form") is None
        text = page.content.decode()
        assert "contains a NUL character" in text or "is 20,001 characters long" in text
    assert not Category.objects.exists()


def test_a_json_escape_that_is_not_text_is_a_row_to_fix(tmp_path, phones):
    content = b'[{"sku": "A-1", "name": "Lamp \\ud800", "category": "phones", "price": 1}]'

    with pytest.raises(CommandError, match="Fix rows 1"):
        run(tmp_path, "surrogate.json", content)
    assert nothing_written()
