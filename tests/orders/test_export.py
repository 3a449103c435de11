"""Orders are exported one row per order line (CSV, XLSX, JSON), honouring the list's filters and
search; customers export and import back unchanged."""

import csv
import io
import json

import openpyxl
import pytest
from django.urls import reverse

from orders.resources import CustomerResource, OrderLineResource
from orders.services import order_place, order_ship

pytestmark = pytest.mark.django_db
FORMATS = {"csv": "0", "xlsx": "1", "json": "2"}


def export(client, url, resource, file_format, query=""):
    fields = {f"{resource.__name__.lower()}_{name}": "on" for name in resource().get_export_order()}
    response = client.post(f"{url}{query}", {"format": FORMATS[file_format], "resource": "0", **fields})
    assert response.status_code == 200, response.content[:500]
    return response


def rows_of(response, file_format) -> list[dict]:
    if file_format == "csv":
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    if file_format == "json":
        return json.loads(response.content)
    header, *rows = openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def orders(make_product, make_customer, superuser):
    lamp, cable = (
        make_product(sku="LAMP-1", name="Lamp", price="20.00"),
        make_product(sku="CBL-1", price="5.00"),
    )
    ann, bob = (
        make_customer(name="Ann", email="ann@example.com"),
        make_customer(name="Bob", email="bob@example.com"),
    )
    two_lines = order_place(customer=ann, lines={lamp: 2, cable: 1})
    one_line = order_place(customer=bob, lines={cable: 3})
    order_ship(order=one_line, user=superuser)
    return two_lines, one_line


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_orders_export_one_row_per_line_honouring_the_status_filter(
    client_for, support_user, orders, file_format
):
    two_lines, _ = orders
    url = reverse("admin:orders_order_export")

    response = export(
        client_for(support_user), url, OrderLineResource, file_format, f"?status__exact={two_lines.status}"
    )

    rows = rows_of(response, file_format)
    assert sorted((row["order"], row["sku"], str(row["quantity"])) for row in rows) == [
        (two_lines.number, "CBL-1", "1"),
        (two_lines.number, "LAMP-1", "2"),
    ]
    lamp = next(row for row in rows if row["sku"] == "LAMP-1")
    assert lamp["customer_email"] == "ann@example.com" and float(lamp["line_total"]) == 40.0
    assert float(lamp["order_total"]) == float(two_lines.total)


def test_orders_export_honours_the_search(client_for, support_user, orders):
    _, one_line = orders

    response = export(
        client_for(support_user), reverse("admin:orders_order_export"), OrderLineResource, "csv", "?q=bob@"
    )

    assert [(row["order"], row["quantity"]) for row in rows_of(response, "csv")] == [(one_line.number, "3")]


def test_orders_cannot_be_imported(client_for, superuser):
    client = client_for(superuser)

    assert client.get("/admin/orders/order/import/", follow=True).status_code == 404  # no such page
    assert "/import/" not in client.get(reverse("admin:orders_order_changelist")).content.decode()


def test_customers_export_imports_back_unchanged(client_for, support_user, make_customer):
    make_customer(name="Ann", email="ann@example.com", phone="=1+1")
    client = client_for(support_user)
    response = export(client, reverse("admin:orders_customer_export"), CustomerResource, "csv")
    rows = rows_of(response, "csv")
    assert rows[0]["phone"] == "'=1+1"

    preview = client.post(
        reverse("admin:orders_customer_import"),
        {"format": "csv", "import_file": _upload("customers.csv", response.content)},
    )

    report = preview.context["report"]
    assert (report.unchanged, report.invalid) == (1, 0)


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/csv")
