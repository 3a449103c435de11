"""Imports into one shop take turns, and a job's attempts make one change set (undone as one)."""

import threading
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.urls import reverse

from audit.models import ChangeSet
from audit.undo import change_set_undo
from backoffice.models import Tenant
from core.tenancy import activate
from imports import jobs
from imports.engine import Import
from imports.jobs import import_job_create, import_job_retry, import_job_run
from imports.locking import shop_import_lock
from imports.models import ImportJob
from inventory.models import Category, Product
from tests.admin_helpers import has_message


def products_file(path, count: int, *, prefix="C"):
    lines = ["sku,name,category,price,stock"]
    lines += [f"{prefix}-{n:05d},Item {n},phones,{n % 90 + 1}.00,{n % 7}" for n in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_take_turns_and_both_succeed(tmp_path):
    """The second used to die with a raw IntegrityError: both planned to create the same SKUs."""
    Category.objects.create(name="Phones", slug="phones")
    path = products_file(tmp_path / "same.csv", 3000)
    shop = Tenant.objects.get(subdomain="main")
    start = threading.Barrier(2)
    outcomes = []

    def import_it():
        try:
            with activate(shop):
                start.wait()
                out = StringIO()
                call_command("import_products", str(path), "--no-progress", stdout=out, stderr=out)
                outcomes.append(out.getvalue())
        except BaseException as error:  # reported below, with the other thread's outcome
            outcomes.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=import_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert all(isinstance(outcome, str) for outcome in outcomes), outcomes
    assert sorted("3000 new" in outcome for outcome in outcomes) == [False, True]
    assert any("3000 unchanged" in outcome for outcome in outcomes)
    assert Product.objects.count() == 3000
    assert ChangeSet.objects.count() == 1 and Product.history.count() == 3000


def hold_the_import_lock(shop, released: threading.Event, held: threading.Event):
    """Another process's import, holding the shop's lock until ``released``."""
    with activate(shop), shop_import_lock(wait=0):
        held.set()
        released.wait(30)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_import_while_another_runs_waits_for_it_or_says_which_one_runs(tmp_path, client_for, ops_user):
    Category.objects.create(name="Phones", slug="phones")
    shop = Tenant.objects.get(subdomain="main")
    running = ImportJob.objects.create(
        resource="products", file="", file_name="nightly.csv", status="running", user=ops_user
    )
    ImportJob.objects.filter(pk=running.pk).update(started_at=running.created_at)
    released, held = threading.Event(), threading.Event()
    other = threading.Thread(target=hold_the_import_lock, args=(shop, released, held))
    other.start()
    try:
        assert held.wait(10)
        # The shell waits, then names the import that runs.
        with pytest.raises(CommandError, match=r"Another import into this shop is running \(nightly.csv"):
            out = StringIO()
            path = products_file(tmp_path / "a.csv", 3)
            call_command("import_products", str(path), "--no-progress", "--lock-wait", "0.3", stdout=out)
        # The admin hands a small file to a worker, which runs it once the other has finished.
        client = client_for(ops_user)
        upload = SimpleUploadedFile("b.csv", b"sku,name,category,price\nB-1,Lamp,phones,1\n")
        preview = client.post(
            reverse("admin:inventory_product_import"), {"format": "csv", "import_file": upload}
        )
        form = preview.context["confirm_form"]
        jobs.REQUEST_LOCK_WAIT, saved = 0.3, jobs.REQUEST_LOCK_WAIT
        try:
            done = client.post(
                reverse("admin:inventory_product_process_import"),
                {name: form.initial.get(name, "") for name in form.fields},
                follow=True,
            )
        finally:
            jobs.REQUEST_LOCK_WAIT = saved
        assert has_message(done, "Another import into this shop is running: a worker imports b.csv")
        assert ImportJob.objects.get(file_name="b.csv").status == "queued"
        assert not Product.objects.exists()
    finally:
        released.set()
        other.join(30)
    job = ImportJob.objects.get(file_name="b.csv")
    import_job_run(job.pk)  # what the worker does, now that the lock is free
    assert ImportJob.objects.get(pk=job.pk).status == "done" and Product.objects.count() == 1


@pytest.mark.django_db
def test_a_retried_job_records_into_its_one_change_set_and_is_undone_as_one(superuser, monkeypatch):
    Category.objects.create(name="Phones", slug="phones")
    rows = "".join(f"R-{n},Retry {n},phones,1.00,{n}\n" for n in range(6))
    job = import_job_create(
        resource="products",
        file_name="r.csv",
        content=b"sku,name,category,price,stock\n" + rows.encode(),
        file_format="csv",
        user=superuser,
    )
    monkeypatch.setattr("django.conf.settings.IMPORT_BATCH_ROWS", 4)
    original, calls = Import._write, {"n": 0}

    def fails_on_the_second_batch(self, batch, report):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return original(self, batch, report)

    monkeypatch.setattr(Import, "_write", fails_on_the_second_batch)
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and Product.objects.count() == 4
    first = job.change_set
    assert first is not None and first.row_count == 4

    import_job_retry(job=job)
    import_job_run(job.pk)

    job.refresh_from_db()
    assert job.status == "done" and Product.objects.count() == 6
    assert ChangeSet.objects.count() == 1 and job.change_set == first
    first.refresh_from_db()
    assert first.row_count == 6
    change_set_undo(change_set=first, user=superuser)
    assert not Product.objects.exists()  # the whole import, both attempts, undone as one


@pytest.mark.django_db
def test_an_import_that_fails_before_writing_leaves_no_change_set(monkeypatch):
    Category.objects.create(name="Phones", slug="phones")
    job = import_job_create(
        resource="products",
        file_name="x.csv",
        content=b"sku,name,category,price\nX-1,Lamp,phones,1\n",
        file_format="csv",
    )

    def fails(self, batch, report):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Import, "_write", fails)
    import_job_run(job.pk)

    assert ImportJob.objects.get(pk=job.pk).status == "failed"
    assert not ChangeSet.objects.exists()
