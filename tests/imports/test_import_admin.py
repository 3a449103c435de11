"""Imports in the admin: upload -> preview (dry run) -> confirm, for products (the fast service, big
files handed to a worker), categories and customers; the import job's page, progress and retry."""

import csv
import html
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.models import ChangeSet
from imports.engine import Import
from imports.jobs import import_job_create, import_job_run
from imports.models import ImportJob
from imports.readers import open_table
from imports.registry import new_spec
from inventory.models import Category, Product, StockMovement
from orders.models import Customer
from tests.admin_helpers import has_message

pytestmark = pytest.mark.django_db

PRODUCT_IMPORT = reverse("admin:inventory_product_import")
PRODUCT_CONFIRM = reverse("admin:inventory_product_process_import")
CSV_FORMAT = "csv"


@pytest.fixture
def phones(db):
    return Category.objects.create(name="Phones", slug="phones")


def csv_upload(name, rows, header=("sku", "name", "category", "price", "stock")):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def upload(client, url, file, **extra):
    return client.post(url, {"format": CSV_FORMAT, "import_file": file, **extra})


def confirm(client, url, preview):
    form = preview.context["confirm_form"]
    return client.post(url, {name: form.initial.get(name, "") for name in form.fields}, follow=True)


def test_preview_shows_new_changed_unchanged_rows_then_confirm_imports(
    client_for, ops_user, phones, make_product
):
    make_product(sku="P-1", name="Same", price="1.00", stock=5, category=phones)
    make_product(sku="P-2", name="Old name", price="2.00", stock=5, category=phones)
    client = client_for(ops_user)
    assert client.get(PRODUCT_IMPORT).status_code == 200

    preview = upload(
        client,
        PRODUCT_IMPORT,
        csv_upload(
            "supplier.csv",
            [
                ["P-1", "Same", "phones", "1.00", "5"],
                ["P-2", "New name", "phones", "2.00", "9"],
                ["P-3", "Brand new", "phones", "3.00", "1"],
            ],
        ),
    )

    assert preview.status_code == 200 and preview.context["confirm_form"] is not None
    page = preview.content.decode()
    assert "1 new" in page and "1 changed" in page and "1 unchanged" in page and "0 invalid" in page
    assert "Old name" in page and "New name" in page  # the change is shown old -> new
    assert Product.objects.count() == 2  # the preview is a dry run

    done = confirm(client, PRODUCT_CONFIRM, preview)

    assert has_message(done, "Imported supplier.csv: 1 new, 1 changed, 1 unchanged.")
    assert has_message(done, "See or undo this change")
    assert Product.objects.get(sku="P-2").name == "New name" and Product.objects.get(sku="P-2").stock == 9
    job = ImportJob.objects.get()
    assert (job.status, job.user, job.file_name, job.created_count) == ("done", ops_user, "supplier.csv", 1)
    assert job.file.read().startswith(b"sku,name")  # kept for a retry
    assert StockMovement.objects.filter(kind="import", reference_id=str(job.pk)).count() == 2
    assert ChangeSet.objects.get().title == "Imported supplier.csv"


def test_invalid_rows_are_listed_with_row_field_and_message_and_cannot_be_confirmed(
    client_for, ops_user, phones
):
    client = client_for(ops_user)

    preview = upload(
        client,
        PRODUCT_IMPORT,
        csv_upload(
            "bad.csv", [["P-1", "Fine", "phones", "1.00", "1"], ["P-2", "Broken", "nowhere", "-1", "x"]]
        ),
    )

    assert "confirm_form" not in preview.context or preview.context["confirm_form"] is None
    page = preview.content.decode()
    assert "Nothing can be imported until these rows are fixed: row 3." in page
    report = preview.context["report"]
    assert report.rows_to_fix == [3]
    assert {problem.field for problem in report.problems} == {"category", "price", "stock"}
    assert "no category has the slug or path “nowhere”" in page and "-1 is negative" in page
    assert Product.objects.count() == 0 and ImportJob.objects.count() == 0


def test_a_missing_column_is_shown_on_the_upload_page(client_for, ops_user, phones):
    preview = upload(
        client_for(ops_user), PRODUCT_IMPORT, csv_upload("cols.csv", [["P-1", "x"]], header=("sku", "name"))
    )

    page = preview.content.decode()
    assert "Choose the columns of the file for category, price (required)" in page
    assert preview.context.get("report") is None  # no preview until every required column is mapped
    assert preview.context.get("confirm_form") is None and Product.objects.count() == 0


def test_a_file_read_with_the_wrong_encoding_gets_a_message_a_person_can_act_on(client_for, ops_user, phones):
    file = SimpleUploadedFile("latin.csv", "sku,name,category,price\nA,Café,phones,1\n".encode("latin-1"))
    client = client_for(ops_user)

    detected = upload(client, PRODUCT_IMPORT, file)
    assert "Read as <strong>Windows-1252, commas</strong>" in detected.content.decode()
    assert detected.context["report"].preview[0].cells[1][1] == "Café"

    # Told it is UTF-8, the preview reads it as the import would: the line and the byte, what to do.
    form = detected.context["mapping_form"]
    data = {
        **{name: form.initial.get(name, "") for name in form.fields},
        "started_from": form.initial["start_from"],
    }
    page = client.post(reverse("admin:inventory_product_import_map"), {**data, "encoding": "utf-8"})
    assert "Line 2 of the file can't be read as UTF-8 text (byte 0xe9)" in html.unescape(
        page.content.decode()
    )
    assert page.context.get("confirm_form") is None


def test_a_big_file_is_imported_by_a_worker_and_its_page_shows_progress(
    client_for, ops_user, phones, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 2
    client = client_for(ops_user)
    rows = [[f"B-{n}", f"Bulk {n}", "phones", "1.00", "3"] for n in range(5)]
    preview = upload(client, PRODUCT_IMPORT, csv_upload("big.csv", rows))

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = confirm(client, PRODUCT_CONFIRM, preview)

    job = ImportJob.objects.get()
    assert job.status == "queued" and len(queued) == 1  # the task is sent once the job is committed
    assert response.redirect_chain[-1][0] == reverse("admin:imports_importjob_change", args=[job.pk])
    assert has_message(response, "big.csv has 5 rows: a worker imports it in the background")
    assert Product.objects.count() == 0
    page = response.content.decode()
    assert (
        'id="import-progress"' in page
        and "/static/js/import_progress.js" in page
        and "Queued: waiting for a worker." in page
    )
    progress_url = reverse("admin:imports_importjob_progress", args=[job.pk])
    assert client.get(progress_url).json()["status"] == "queued"

    import_job_run(job.pk)  # what the worker's task does

    status = client.get(progress_url).json()
    assert status["finished"] and status["status"] == "done" and status["percent"] == 100
    assert (status["rows_total"], status["created"], status["unchanged"]) == (5, 5, 0)
    assert Product.objects.count() == 5


def test_a_job_whose_worker_died_is_shown_failed_and_retried_without_duplicates(
    client_for, ops_user, phones, monkeypatch, django_capture_on_commit_callbacks
):
    rows = [[f"R-{n}", f"Retry {n}", "phones", "1.00", str(n)] for n in range(6)]
    job = import_job_create(
        resource="products",
        file_name="r.csv",
        content=csv_upload("r.csv", rows).read(),
        file_format="csv",
        user=ops_user,
    )
    calls = {"n": 0}
    original = Import._write

    def dies_after_first_batch(self, batch, report):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit(
                "worker killed"
            )  # not an Exception: the job is left running, as a dead worker leaves it
        return original(self, batch, report)

    monkeypatch.setattr(Import, "_write", dies_after_first_batch)
    with pytest.raises(SystemExit):
        Import(new_spec("products"), file_name="r.csv", job=job, batch_size=4).run(open_table(job.file.path))
    monkeypatch.undo()
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", rows_processed=4, rows_total=6, heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    assert Product.objects.count() == 4  # half imported: the first batch committed

    client = client_for(ops_user)
    status = client.get(reverse("admin:imports_importjob_progress", args=[job.pk])).json()
    assert status["status"] == "failed" and "stopped answering" in status["error_message"]
    page = client.get(reverse("admin:imports_importjob_change", args=[job.pk])).content.decode()
    assert reverse("admin:imports_importjob_retry", args=[job.pk]) in page

    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(reverse("admin:imports_importjob_retry", args=[job.pk]), {"_form_submitted": "1"})
    job.refresh_from_db()
    # The retry marks the dead run failed (its "failed" announcement) and queues the job again.
    assert job.status == "queued" and len(queued) == 2
    import_job_run(job.pk)

    job.refresh_from_db()
    assert (job.status, job.created_count, job.skipped_count, job.attempts) == ("done", 2, 4, 1)
    assert Product.objects.count() == 6 and sorted(Product.objects.values_list("stock", flat=True)) == list(
        range(6)
    )
    assert StockMovement.objects.count() == 5  # one per product with stock, none twice


def test_a_job_refused_for_invalid_rows_lists_them_on_its_page(client_for, ops_user, phones):
    job = import_job_create(
        resource="products",
        file_name="bad.csv",
        content=csv_upload("bad.csv", [["X-1", "", "phones", "1", ""]]).read(),
        file_format="csv",
    )
    import_job_run(job.pk)

    page = client_for(ops_user).get(reverse("admin:imports_importjob_change", args=[job.pk])).content.decode()

    assert "1 row(s) are invalid, so nothing was imported (all or nothing). Fix rows 2" in page
    assert "Rows to fix" in page and "<td>2</td><td>name</td><td>is empty</td>" in page


@pytest.mark.parametrize("role", ["support_user", "auditor"])
def test_only_staff_allowed_to_import_products_may(client_for, role, request, phones):
    client = client_for(request.getfixturevalue(role))

    assert client.get(PRODUCT_IMPORT).status_code == 403
    response = upload(client, PRODUCT_IMPORT, csv_upload("x.csv", [["P-1", "x", "phones", "1", "1"]]))
    assert response.status_code == 403 and Product.objects.count() == 0


def test_categories_import_by_slug_with_parents_by_path(client_for, ops_user):
    client = client_for(ops_user)
    url = reverse("admin:inventory_category_import")
    file = csv_upload(
        "categories.csv",
        [
            ["Electronics", "electronics", "", ""],
            ["Phones", "phones", "Electronics", "Mobile"],
            ["Cases", "", "electronics/phones", ""],
        ],
        header=("name", "slug", "parent", "description"),
    )

    preview = upload(client, url, file)
    done = confirm(client, reverse("admin:inventory_category_process_import"), preview)

    assert has_message(done, "3 new, 0 changed, 0 unchanged")
    cases = Category.objects.get(name="Cases")
    assert cases.path == "Electronics/Phones/Cases" and cases.slug == "cases"
    assert cases.history.get().history_change_reason == "Imported from categories.csv"
    again = upload(
        client,
        url,
        csv_upload(
            "categories.csv",
            [
                ["Electronics", "electronics", "", ""],
                ["Phones", "phones", "Electronics", "Mobile"],
                ["Cases", "", "electronics/phones", ""],
            ],
            header=("name", "slug", "parent", "description"),
        ),
    )
    assert again.context["report"].unchanged == 3


def test_customers_import_keyed_by_email_in_any_case(client_for, support_user, make_customer):
    make_customer(email="ann@example.com", name="Ann", default_shipping_address="")
    client = client_for(support_user)
    url = reverse("admin:orders_customer_import")
    rows = [["ANN@Example.com", "Ann", "", ""], ["bob@example.com", "Bob", "555", "1 Road"]]
    header = ("email", "name", "phone", "default_shipping_address")

    preview = upload(client, url, csv_upload("customers.csv", rows, header=header))
    assert (preview.context["report"].unchanged, preview.context["report"].created) == (1, 1)
    confirm(client, reverse("admin:orders_customer_process_import"), preview)

    assert sorted(Customer.objects.values_list("email", flat=True)) == ["ann@example.com", "bob@example.com"]
    bob = Customer.objects.get(email="bob@example.com")
    assert bob.history.get().history_change_reason == "Imported from customers.csv"
    bad = upload(client, url, csv_upload("c.csv", [["not-an-email", "X", "", ""]], header=header))
    (problem,) = bad.context["report"].problems
    assert (problem.row, problem.field) == (2, "email") and "not an e-mail address" in problem.message


def test_import_export_and_job_pages_have_no_inline_scripts(client_for, superuser, phones):
    """The CSP blocks inline scripts: the progress bar is a static file polling JSON."""
    from tests.backoffice.test_security import INLINE_HANDLER, INLINE_SCRIPT

    client = client_for(superuser)
    job = import_job_create(
        resource="products", file_name="x.csv", content=b"sku,name,category,price\n", file_format="csv"
    )
    preview = upload(client, PRODUCT_IMPORT, csv_upload("p.csv", [["P-1", "x", "phones", "1", "1"]]))
    pages = [
        preview,
        client.get(PRODUCT_IMPORT),
        client.get(reverse("admin:inventory_product_export")),
        client.get(reverse("admin:orders_order_export")),
        client.get(reverse("admin:imports_importjob_change", args=[job.pk])),
        client.get(reverse("admin:inventory_product_changelist")),
    ]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert not INLINE_SCRIPT.findall(html) and not INLINE_HANDLER.findall(html), INLINE_SCRIPT.findall(
            html
        )
