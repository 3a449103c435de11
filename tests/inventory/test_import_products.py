"""Product imports from the shell (``import_products``) and the import service behind every entry point:
clean import, re-import, invalid rows, missing columns, bad files, XLSX and JSON, stock and history."""

import csv
import json
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from audit.models import AuditEntry, ChangeSet
from imports.engine import run_import
from imports.models import ImportJob
from imports.readers import open_table
from imports.registry import new_spec
from inventory.models import Category, Product, StockMovement

pytestmark = pytest.mark.django_db

HEADER = ["sku", "name", "category", "price", "stock", "is_published", "description"]


@pytest.fixture
def phones(db):
    electronics = Category.objects.create(name="Electronics", slug="electronics")
    return Category.objects.create(name="Phones", slug="phones", parent=electronics)


def write_csv(path, rows, header=HEADER, *, encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def catalogue(phones):
    return [
        ["ph-001", "Pocket phone", "phones", "199.00", "12", "yes", "Small"],
        ["PH-002", "Big phone", "Electronics/Phones", "349.50", "0", "no", ""],
        ["PH-003", "Cable", "electronics", "9.99", "", "1", "USB-C"],
    ]


def run(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_products", str(path), *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def history_rows():
    return Product.history.count()


def assert_ledger_explains_stock():
    for product in Product.objects.all():
        total = StockMovement.objects.filter(product=product).aggregate(total=Sum("quantity"))["total"] or 0
        assert total == product.stock, product.sku


def test_clean_import_creates_products_with_stock_in_the_ledger_and_history(tmp_path, phones):
    path = write_csv(tmp_path / "supplier.csv", catalogue(phones))

    output = run(path)

    assert "3 rows: 3 new, 0 changed, 0 unchanged, 0 invalid" in output
    pocket = Product.objects.get(sku="PH-001")  # SKUs are normalised upper-case
    assert (pocket.name, pocket.category, pocket.price, pocket.stock) == (
        "Pocket phone",
        phones,
        Decimal("199.00"),
        12,
    )
    assert pocket.is_published and pocket.description == "Small" and pocket.slug == "pocket-phone"
    assert Product.objects.get(sku="PH-002").category == phones  # by path
    cable = Product.objects.get(sku="PH-003")
    assert cable.category.slug == "electronics" and cable.stock == 0 and cable.low_stock_threshold == 10

    job = ImportJob.objects.get()
    assert (job.status, job.created_count, job.rows_total, job.rows_processed) == ("done", 3, 3, 3)
    (movement,) = StockMovement.objects.all()  # only the product with stock gets a movement
    assert (movement.product, movement.quantity, movement.kind) == (pocket, 12, "import")
    assert movement.reason == "Imported from supplier.csv" and movement.reference == job
    assert_ledger_explains_stock()

    (created,) = pocket.history.all()  # created with its stock: one version, not "+" then "~"
    assert (created.history_type, created.history_change_reason, created.stock) == (
        "+",
        "Imported from supplier.csv",
        12,
    )
    change_set = ChangeSet.objects.get()
    assert (
        change_set.kind == "import"
        and change_set.title == "Imported supplier.csv"
        and change_set.row_count == 3
    )
    (entry,) = AuditEntry.objects.filter(object_id=str(pocket.pk))
    assert (entry.action, entry.change_set, entry.history_id) == ("created", change_set, created.history_id)


def test_reimporting_the_same_file_changes_nothing(tmp_path, phones):
    path = write_csv(tmp_path / "supplier.csv", catalogue(phones))
    run(path)
    before = (
        history_rows(),
        AuditEntry.objects.count(),
        StockMovement.objects.count(),
        ChangeSet.objects.count(),
    )
    updated_at = dict(Product.objects.values_list("sku", "updated_at"))

    output = run(path)

    assert "3 rows: 0 new, 0 changed, 3 unchanged, 0 invalid" in output
    assert Product.objects.count() == 3
    after = (
        history_rows(),
        AuditEntry.objects.count(),
        StockMovement.objects.count(),
        ChangeSet.objects.count(),
    )
    assert after == before  # no history rows, audit entries, movements or change set
    assert dict(Product.objects.values_list("sku", "updated_at")) == updated_at
    assert ImportJob.objects.order_by("-pk").first().skipped_count == 3


def test_changed_rows_update_fields_and_set_stock_through_the_ledger(
    tmp_path, phones, make_product, superuser
):
    existing = make_product(sku="PH-001", name="Old name", price="150.00", stock=20, category=phones)
    path = write_csv(
        tmp_path / "prices.csv",
        [["PH-001", "Pocket phone", "phones", "199.00", "5", "", ""]],
    )

    output = run(path, "--user", superuser.username)

    assert "1 changed" in output
    existing.refresh_from_db()
    assert (existing.name, existing.price, existing.stock) == ("Pocket phone", Decimal("199.00"), 5)
    assert existing.is_published  # an empty optional cell keeps the product's value
    movement = StockMovement.objects.filter(kind="import").get()
    assert movement.quantity == -15 and movement.stock_after == 5 and movement.user == superuser
    change = existing.history.filter(history_change_reason="Imported from prices.csv").order_by("history_id")
    assert [row.history_type for row in change] == ["~", "~"]  # the fields, then the stock (ledger)
    entry = AuditEntry.objects.get(history_id=change[0].history_id, content_type__model="product")
    assert sorted(entry.changed_fields) == ["name", "price"]
    assert_ledger_explains_stock()


def test_invalid_rows_stop_the_whole_import_and_name_row_field_and_problem(tmp_path, phones):
    rows = [
        ["PH-001", "Pocket phone", "phones", "199.00", "12", "yes", ""],
        ["PH-002", "", "phones", "12,5", "-3", "maybe", ""],
        ["PH-003", "Cable", "Kitchen/Knives", "9.999", "1.5", "", ""],
        ["ph-001", "Again", "phones", "1", "1", "", ""],
    ]
    path = write_csv(tmp_path / "bad.csv", rows)

    with pytest.raises(CommandError) as refused:
        run(path)

    message = str(refused.value)
    assert "3 row(s) are invalid, so nothing was imported" in message and "Fix rows 3, 4, 5" in message
    assert Product.objects.count() == 0 and StockMovement.objects.count() == 0
    assert ChangeSet.objects.count() == 0 and ImportJob.objects.count() == 0 and history_rows() == 0

    report = run_import(new_spec("products"), table=open_table(path), file_name="bad.csv", dry_run=True)
    problems = {(p.row, p.field): p.message for p in report.problems}
    assert problems[(3, "name")] == "is empty"
    assert "“12,5” is not a price" in problems[(3, "price")]
    assert "-3 is negative" in problems[(3, "stock")]
    assert "“maybe” is not yes or no" in problems[(3, "is_published")]
    assert "no category has the slug or path “Kitchen/Knives”" in problems[(4, "category")]
    assert "more than 2 decimal places" in problems[(4, "price")]
    assert "“1.5” is not a whole number" in problems[(4, "stock")]
    assert problems[(5, "sku")] == "PH-001 is on row 2 too: give each SKU one row"


def test_skip_invalid_imports_the_valid_rows_and_lists_the_others(tmp_path, phones):
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            ["A-1", "Good", "phones", "1.00", "1", "", ""],
            ["A-2", "Bad", "nowhere", "1.00", "1", "", ""],
            ["A-1", "Good again", "phones", "2.00", "5", "", ""],
        ],
    )

    output = run(path, "--skip-invalid", "--batch-size", "1")

    assert "3 rows: 1 new, 0 changed, 0 unchanged, 2 invalid" in output
    assert "Row 3, category" in output and "Row 4, sku: A-1 is on row 2 too" in output
    assert list(Product.objects.values_list("sku", "name", "stock")) == [("A-1", "Good", 1)]
    assert ImportJob.objects.get().failed_count == 2


@pytest.mark.parametrize(
    ("header", "missing"),
    [(["name", "category", "price"], "sku"), (["sku", "title", "category", "cost"], "name, price")],
)
def test_a_missing_column_is_a_clear_error_and_writes_nothing(tmp_path, phones, header, missing):
    path = write_csv(tmp_path / "cols.csv", [["x"] * len(header)], header=header)

    with pytest.raises(CommandError, match=f"The file has no {missing} column"):
        run(path)

    assert Product.objects.count() == 0 and ImportJob.objects.count() == 0


def test_a_windows_file_is_read_as_windows_1252_unless_told_otherwise(tmp_path, phones):
    rows = [[f"E-{n}", "Café crème", "phones", "2.50", "1", "", ""] for n in range(3000)]
    path = write_csv(tmp_path / "windows.csv", rows, encoding="cp1252")

    # Told it is UTF-8, it names the line and the byte, and what to do; nothing is written.
    with pytest.raises(CommandError, match=r"Line 2 of the file can't be read as UTF-8 text \(byte 0xe9\)"):
        run(path, "--encoding", "utf-8")
    assert Product.objects.count() == 0 and ImportJob.objects.count() == 0

    assert "3000 rows: 3000 new" in run(path)  # detected
    assert set(Product.objects.values_list("name", flat=True)) == {"Café crème"}


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("broken.xlsx", b"this is not a zip file", "is not an Excel workbook"),
        ("broken.json", b'[{"sku": "A-1",', "is not valid JSON"),
        ("object.json", b'{"sku": "A-1"}', "A JSON import is a list of objects"),
        ("empty.csv", b"", "The file is empty"),
        ("notes.pdf", b"sku,name", "use a .csv \\(or tab-separated .txt\\), .xlsx or .json file"),
    ],
)
def test_a_malformed_file_is_a_clear_error(tmp_path, phones, name, content, error):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(CommandError, match=error):
        run(path)

    assert Product.objects.count() == 0


def test_xlsx_file_with_numbers_and_booleans_as_cells(tmp_path, phones):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["SKU", "Name", "Category", "Price", "Stock", "Published", "Low stock threshold"])
    sheet.append([12345, "Numbered", "phones", 19.99, 7.0, True, 3])
    sheet.append(["X-2", "Second", "Electronics / Phones", 5, None, False, None])
    sheet.append([None, None, None, None, None, None, None])  # blank rows are skipped
    book.save(tmp_path / "supplier.xlsx")

    output = run(tmp_path / "supplier.xlsx")

    assert "2 rows: 2 new" in output
    numbered = Product.objects.get(sku="12345")
    assert (numbered.price, numbered.stock, numbered.is_published, numbered.low_stock_threshold) == (
        Decimal("19.99"),
        7,
        True,
        3,
    )
    assert Product.objects.get(sku="X-2").category == phones
    assert "2 rows: 0 new, 0 changed, 2 unchanged" in run(tmp_path / "supplier.xlsx")


def test_json_file_with_format_option(tmp_path, phones):
    path = tmp_path / "feed.data"
    path.write_text(
        json.dumps(
            [
                {"sku": "J-1", "name": "From JSON", "category": "phones", "price": 3.5, "stock": 2},
                {"sku": "J-2", "name": "Second", "category": "phones", "price": "x"},
            ]
        )
    )

    with pytest.raises(CommandError, match="Fix rows 2 and run it again"):  # JSON rows count from 1
        run(path, "--format", "json")

    data = json.loads(path.read_text())
    data[1]["price"] = "4"
    path.write_text(json.dumps(data))
    assert "2 rows: 2 new" in run(path, "--format", "json")
    assert Product.objects.get(sku="J-1").stock == 2


def test_dry_run_reports_what_would_change_and_writes_nothing(tmp_path, phones, make_product):
    make_product(sku="PH-002", name="Big phone", price="349.50", stock=0, category=phones, published=False)
    path = write_csv(tmp_path / "supplier.csv", catalogue(phones))

    output = run(path, "--dry-run")

    assert "Dry run, nothing written. 3 rows: 2 new, 0 changed, 1 unchanged, 0 invalid" in output
    assert Product.objects.count() == 1 and ImportJob.objects.count() == 0


def test_batches_see_rows_of_earlier_batches(tmp_path, phones):
    rows = [[f"B-{n}", f"Item {n}", "phones", "1.00", str(n), "", ""] for n in range(7)]
    rows.append(["B-1", "Repeat", "phones", "1.00", "1", "", ""])
    path = write_csv(tmp_path / "batched.csv", rows)

    with pytest.raises(CommandError, match="Fix rows 9 and"):
        run(path, "--batch-size", "2")
    path = write_csv(tmp_path / "batched.csv", rows[:-1])

    assert "7 rows: 7 new" in run(path, "--batch-size", "2")
    assert Product.objects.count() == 7 and Product.objects.get(sku="B-6").stock == 6
    assert "7 unchanged" in run(path, "--batch-size", "3")
    assert_ledger_explains_stock()


def test_products_with_the_same_name_get_distinct_slugs(tmp_path, phones, make_product):
    make_product(name="Cable", sku="OLD-1")
    path = write_csv(
        tmp_path / "cables.csv",
        [["C-1", "Cable", "phones", "1", "", "", ""], ["C-2", "Cable", "phones", "1", "", "", ""]],
    )

    run(path)

    assert sorted(Product.objects.filter(name="Cable").values_list("slug", flat=True)) == [
        "cable",
        "cable-c-1",
        "cable-c-2",
    ]


def test_undoing_an_import_removes_what_it_created(tmp_path, phones, superuser):
    from audit.undo import change_set_undo

    run(write_csv(tmp_path / "supplier.csv", catalogue(phones)))

    change_set_undo(change_set=ChangeSet.objects.get(), user=superuser)

    assert Product.objects.count() == 0 and StockMovement.objects.count() == 0
