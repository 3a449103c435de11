"""Exports of products and categories in CSV, XLSX and JSON: what the list shows (its filters and
search), and cells a spreadsheet would run as formulas escaped."""

import csv
import io
import json

import openpyxl
import pytest
from django.urls import reverse

from imports.engine import run_import
from imports.readers import open_table
from imports.registry import new_spec
from inventory.models import Category
from inventory.resources import CategoryResource, ProductResource

pytestmark = pytest.mark.django_db

PRODUCT_EXPORT = reverse("admin:inventory_product_export")
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
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def products(make_product, make_category):
    phones = make_category("Phones")
    return {
        "low": make_product(sku="LOW-1", name="Nearly gone", stock=3, category=phones, price="12.50"),
        "plenty": make_product(sku="PLN-1", name="Plenty", stock=80, category=phones),
        "other": make_product(sku="PLN-2", name="Plenty more", stock=90, category=phones),
    }


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "json"])
def test_product_export_honours_the_lists_filter_in_every_format(client_for, auditor, products, file_format):
    response = export(client_for(auditor), PRODUCT_EXPORT, ProductResource, file_format, "?stock_state=low")

    rows = rows_of(response, file_format)
    assert [row["sku"] for row in rows] == ["LOW-1"]
    assert rows[0]["category"] == "Phones" and str(rows[0]["stock"]) == "3"
    assert str(rows[0]["price"]) in {"12.50", "12.5"}
    if file_format == "xlsx":
        assert isinstance(rows[0]["stock"], int)  # numbers stay numbers in a workbook


def test_product_export_honours_the_search(client_for, ops_user, products):
    response = export(client_for(ops_user), PRODUCT_EXPORT, ProductResource, "csv", "?q=pln-")

    assert sorted(row["sku"] for row in rows_of(response, "csv")) == ["PLN-1", "PLN-2"]


def test_exported_products_import_back_unchanged(client_for, ops_user, products, tmp_path):
    response = export(client_for(ops_user), PRODUCT_EXPORT, ProductResource, "csv")
    path = tmp_path / "roundtrip.csv"
    path.write_bytes(response.content)

    report = run_import(new_spec("products"), table=open_table(path), file_name=path.name, dry_run=True)

    assert (report.rows_total, report.unchanged, report.invalid) == (3, 3, 0)


def test_csv_and_xlsx_exports_escape_cells_a_spreadsheet_would_run(
    client_for, ops_user, make_product, settings
):
    assert settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT is True
    make_product(sku="F-1", name='=HYPERLINK("http://evil.example","Click")', description="+1+2")
    make_product(sku="F-2", name="-2+3", description="@SUM(A1)")
    make_product(sku="F-3", name="Plain -5", description="-5")
    client = client_for(ops_user)

    rows = {row["sku"]: row for row in rows_of(export(client, PRODUCT_EXPORT, ProductResource, "csv"), "csv")}

    assert (
        rows["F-1"]["name"] == '\'=HYPERLINK("http://evil.example","Click")'
        and rows["F-1"]["description"] == "'+1+2"
    )
    assert rows["F-2"]["name"] == "'-2+3" and rows["F-2"]["description"] == "'@SUM(A1)"
    assert (
        rows["F-3"]["name"] == "Plain -5" and rows["F-3"]["description"] == "-5"
    )  # a number isn't a formula

    workbook = export(client, PRODUCT_EXPORT, ProductResource, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]  # no formula cell at all
    assert '\'=HYPERLINK("http://evil.example","Click")' in [cell.value for cell in cells]

    data = rows_of(export(client, PRODUCT_EXPORT, ProductResource, "json"), "json")
    assert {row["sku"]: row["name"] for row in data}["F-1"].startswith("=HYPERLINK")  # JSON is exact


def test_category_export_lists_parents_first_with_paths(client_for, ops_user):
    electronics = Category.objects.create(name="Electronics")
    phones = Category.objects.create(name="Phones", parent=electronics)
    Category.objects.create(name="Cases", parent=phones)
    Category.objects.create(name="Audio")

    response = export(
        client_for(ops_user), reverse("admin:inventory_category_export"), CategoryResource, "csv"
    )

    rows = rows_of(response, "csv")
    assert [(row["name"], row["parent"]) for row in rows] == [
        ("Audio", ""),
        ("Electronics", ""),
        ("Phones", "Electronics"),
        ("Cases", "Electronics/Phones"),
    ]


def test_export_needs_the_view_permission(client_for, support_user):
    client = client_for(support_user)

    assert client.get(reverse("admin:inventory_stockmovement_changelist")).status_code == 403
    assert client.get(PRODUCT_EXPORT).status_code == 200  # support reads the catalogue
