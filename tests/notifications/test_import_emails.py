"""Staff get an e-mail when an import they started in the background finishes or fails: the counts,
the link to the job (in their shop), and the rows to fix."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.models import Tenant
from core.tenancy import activate
from imports.jobs import import_job_create, import_job_run
from imports.models import ImportJob
from imports.progress import import_jobs_fail_stale
from inventory.models import Category
from notifications.models import Message
from tests.notifications.conftest import html_of, text_of

pytestmark = pytest.mark.django_db
ONE_PHONE = b"sku,name,category,price\nA-1,Phone,phones,1.00\n"


@pytest.fixture
def olivia(ops_user):
    ops_user.first_name, ops_user.email = "Olivia", "olivia@shop.test"
    ops_user.save()
    return ops_user


def background_import(content: bytes, user, capture) -> ImportJob:
    Category.objects.get_or_create(name="Phones", slug="phones")
    job = import_job_create(
        resource="products", file_name="supplier.csv", content=content, file_format="csv", user=user
    )
    with capture(execute=True):
        import_job_run(job.pk, background=True)  # what the worker's task does
    job.refresh_from_db()
    return job


def test_a_finished_import_tells_who_started_it_the_counts_and_the_link(
    mail_server, eager_tasks, olivia, settings, django_capture_on_commit_callbacks
):
    settings.BACKOFFICE_URL = "https://backoffice.example.com"
    content = b"sku,name,category,price,stock\nA-1,Phone,phones,1.00,2\nA-2,Case,phones,2.00,0\n"
    job = background_import(content, olivia, django_capture_on_commit_callbacks)

    [sent] = mail_server.received
    assert sent.envelope_to == ["olivia@shop.test"]
    assert sent["Subject"] == "Import of supplier.csv finished: 2 new, 0 changed"
    text = text_of(sent)
    assert text.startswith("Hello Olivia,\n\nThe import of supplier.csv (products) has finished.")
    assert "  Rows: 2\n  New: 2\n  Changed: 0\n  Unchanged: 0" in text
    link = f"https://backoffice.example.com/admin/imports/importjob/{job.pk}/change/"
    assert f"The job: {link}" in text
    assert f'<a href="{link}"' in html_of(sent)
    assert Message.objects.get().import_job_id == job.pk


def test_a_failed_import_lists_the_rows_to_fix(
    mail_server, eager_tasks, olivia, django_capture_on_commit_callbacks
):
    rows = "".join(f"B-{n},,phones,1.00,1\n" for n in range(25))  # 25 rows without a name
    job = background_import(
        ("sku,name,category,price,stock\n" + rows).encode(), olivia, django_capture_on_commit_callbacks
    )

    assert job.status == "failed"
    [sent] = mail_server.received
    assert sent["Subject"] == "Import of supplier.csv failed"
    text = text_of(sent)
    assert "25 row(s) are invalid, so nothing was imported" in text
    assert "Rows to fix:\n  Row 2, name: is empty\n" in text and "  Row 21, name: is empty\n" in text
    assert "Row 22," not in text and "… and 5 more on the job's page." in text
    assert "<td style" in html_of(sent) and "… and 5 more on the job" in html_of(sent)


def test_an_import_whose_worker_died_is_reported_failed(
    mail_server, eager_tasks, olivia, django_capture_on_commit_callbacks
):
    job = import_job_create(
        resource="products", file_name="big.csv", content=b"sku\n", file_format="csv", user=olivia
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status="running",
        attempts=1,
        rows_total=10,
        rows_processed=4,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_jobs_fail_stale()

    [sent] = mail_server.received
    assert sent["Subject"] == "Import of big.csv failed"
    assert "stopped answering" in text_of(sent) and "after 4 of 10 rows" in text_of(sent)


def test_links_go_to_the_shop_of_the_import(
    mail_server, eager_tasks, olivia, settings, django_capture_on_commit_callbacks
):
    settings.BACKOFFICE_URL = "https://backoffice.example.com"
    settings.BASE_DOMAIN = "backoffice.example.com"
    with activate(Tenant.objects.create(name="Acme", subdomain="acme")):
        job = background_import(
            b"sku,name,category,price\nA-1,Phone,phones,1.00\n", olivia, django_capture_on_commit_callbacks
        )

    [sent] = mail_server.received
    assert f"https://acme.backoffice.example.com/admin/imports/importjob/{job.pk}/change/" in text_of(sent)
    assert "The back office of Acme: you started this import." in text_of(sent)


def test_nobody_to_tell_no_message(mail_server, eager_tasks, ops_user, django_capture_on_commit_callbacks):
    assert not ops_user.email
    background_import(
        b"sku,name,category,price\nA-1,Phone,phones,1.00\n", ops_user, django_capture_on_commit_callbacks
    )

    assert mail_server.received == [] and not Message.objects.exists()
