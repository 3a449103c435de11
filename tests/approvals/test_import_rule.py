"""A confirmed import of more rows than the shop's rule waits for approval before its job runs."""

import html

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest
from approvals.services import ChangeConflict, change_request_approve, change_request_reject
from imports.jobs import import_job_run
from imports.models import ImportJob
from inventory.models import Category, Product
from tests.admin_helpers import has_message
from tests.imports.test_import_admin import csv_upload, upload

pytestmark = pytest.mark.django_db
PRODUCT_IMPORT = reverse("admin:inventory_product_import")
PRODUCT_CONFIRM = reverse("admin:inventory_product_process_import")
ROWS = [
    ["P-1", "Lamp", "lamps", "10.00", "5"],
    ["P-2", "Desk", "lamps", "90.00", "2"],
    ["P-3", "Chair", "lamps", "40.00", "1"],
]


@pytest.fixture
def lamps(db):
    return Category.objects.create(name="Lamps", slug="lamps")


def confirm(client, preview, why=""):
    token = preview.context["confirm_form"].initial["upload"]
    return client.post(PRODUCT_CONFIRM, {"upload": token, "why": why}, follow=True)


def test_an_import_within_the_rule_runs_at_once(client_for, ops_user, rule, lamps):
    rule("import_rows", 3)
    client = client_for(ops_user)

    preview = upload(client, PRODUCT_IMPORT, csv_upload("three.csv", ROWS))
    done = confirm(client, preview)

    assert preview.context["approval"] is None
    assert has_message(done, "Imported three.csv: 3 new") and Product.objects.count() == 3


def test_a_bigger_import_asks_why_waits_and_runs_once_approved_with_both_names(
    client_for, ops_user, approver, rule, lamps, django_capture_on_commit_callbacks
):
    rule("import_rows", 2)
    client = client_for(ops_user)

    preview = upload(client, PRODUCT_IMPORT, csv_upload("supplier.csv", ROWS))
    page = html.unescape(preview.content.decode())
    done = confirm(client, preview, why="New supplier's range")

    assert (
        'id="import-why"' in page
        and "an import of 3 rows; the shop's rule: imports of more than 2 rows" in page
    )
    assert has_message(
        done, "Waiting for approval: Import of supplier.csv: 3 rows (3 new, 0 changed, 0 unchanged)"
    )
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.AWAITING_APPROVAL and not Product.objects.exists()
    assert "Waiting for approval" in done.content.decode()  # the job's page, with its request
    held = ChangeRequest.objects.get()
    assert held.reason == "New supplier's range" and held.row_count == 3
    assert {"record": "Row 2: P-1", "field": "record", "old": "none", "new": "created"} in held.changes

    with django_capture_on_commit_callbacks() as queued:
        approved = change_request_approve(change_request=held, user=approver)
    assert len(queued) == 1  # the job is handed to a worker
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and job.change_set == approved.change_set
    import_job_run(job.pk, background=True)  # what the worker does

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Product.objects.count() == 3
    lamp = Product.objects.get(sku="P-1")
    assert lamp.history.first().history_change_reason == (
        f"Imported from supplier.csv; asked by olivia, approved by bob (request {held.pk})"
    )
    assert approved.change_set.entries.count() == 3


def test_an_import_whose_records_changed_since_it_was_asked_is_not_imported(
    client_for, ops_user, approver, rule, lamps, make_product
):
    rule("import_rows", 2)
    client = client_for(ops_user)
    confirm(client, upload(client, PRODUCT_IMPORT, csv_upload("supplier.csv", ROWS)), why="New range")
    make_product(sku="P-2", name="Desk", category=lamps)  # created by someone else meanwhile

    with pytest.raises(ChangeConflict, match=r"would now do something else .*2 new, 1 changed"):
        change_request_approve(change_request=ChangeRequest.objects.get(), user=approver)

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.NOT_APPROVED and "would now do something else" in job.error_message
    assert Product.objects.count() == 1


def test_a_rejected_import_is_never_imported_and_its_job_says_why(
    client_for, ops_user, approver, rule, lamps
):
    rule("import_rows", 2)
    client = client_for(ops_user)
    confirm(client, upload(client, PRODUCT_IMPORT, csv_upload("supplier.csv", ROWS)), why="New range")

    change_request_reject(change_request=ChangeRequest.objects.get(), user=approver, note="Wrong prices")

    job = ImportJob.objects.get()
    assert (
        job.status == ImportJob.Status.NOT_APPROVED and job.error_message == "Rejected by bob: Wrong prices"
    )
    assert import_job_run(job.pk) is None and not Product.objects.exists()


def test_confirming_a_held_import_without_a_reason_imports_nothing_and_keeps_no_job(
    client_for, ops_user, rule, lamps
):
    rule("import_rows", 2)
    client = client_for(ops_user)

    done = confirm(client, upload(client, PRODUCT_IMPORT, csv_upload("supplier.csv", ROWS)))

    assert has_message(done, "say why you make it")
    assert (
        not ImportJob.objects.exists() and not ChangeRequest.objects.exists() and not Product.objects.exists()
    )
