"""An import job's page says one true thing at each moment (queued, checking n of N, writing n of N,
done, failed with the reason), links to its change set and to the records it wrote, shows its errors
once; the shell's progress bar gives rates that mean something."""

import io
import re

import pytest
from django.urls import reverse

from imports.command import ProgressBar
from imports.engine import Import
from imports.jobs import import_job_create, import_job_run, import_job_start
from imports.models import ImportJob
from imports.progress import import_job_progress
from inventory.models import Category, Product

from .helpers import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def lamps(db):
    return Category.objects.create(name="Lamps", slug="lamps")


def csv_job(rows: int, *, bad_row: int | None = None, **options) -> ImportJob:
    lines = ["sku,name,category,price,stock"]
    lines += [f"L-{n},Lamp {n},lamps,{'-1' if n == bad_row else '9.50'},{n}" for n in range(rows)]
    return import_job_create(
        resource="products",
        file_name="lamps.csv",
        content="\n".join(lines).encode(),
        file_format="csv",
        options=options,
    )


def test_each_moment_of_a_job_is_one_sentence(lamps, settings, monkeypatch):
    settings.IMPORT_BATCH_ROWS = 2
    settings.IMPORT_BACKGROUND_ROWS = 3
    job = csv_job(5)
    job, report = import_job_start(job)  # 5 rows: handed to a worker
    assert report is None
    assert import_job_progress(job)["headline"] == "Queued: waiting for a worker."

    seen = []
    check, write = Import._check, Import._write

    def watch_checks(self, table, reader, report, repeats, *, progress):
        # While the file is checked, after each batch: what the page would say.
        original = self.on_progress

        def on_progress(phase, done, total):
            original(phase, done, total)
            seen.append(import_job_progress(ImportJob.objects.get(pk=job.pk))["headline"])

        self.on_progress = on_progress
        return check(self, table, reader, report, repeats, progress=progress)

    def watch_writes(self, rows, report):
        seen.append(import_job_progress(ImportJob.objects.get(pk=job.pk))["headline"])
        return write(self, rows, report)

    monkeypatch.setattr(Import, "_check", watch_checks)
    monkeypatch.setattr(Import, "_write", watch_writes)
    import_job_run(job.pk)

    assert seen[:3] == [
        "Checking the rows: 2 of 5 checked.",
        "Checking the rows: 4 of 5 checked.",
        "Writing: 0 of 5 rows written.",
    ]
    assert "Writing: 2 of 5 rows written." in seen and "Writing: 4 of 5 rows written." in seen
    assert all("of 0" not in headline for headline in seen)
    job.refresh_from_db()
    assert import_job_progress(job)["headline"] == "Done: 5 rows, 5 new, 0 changed, 0 unchanged, 0 invalid."


def test_a_finished_jobs_page_links_to_its_change_set_and_the_records_it_wrote(
    client_for, ops_user, lamps, make_product
):
    make_product(sku="OTHER-1", name="Not imported", category=lamps)
    job = csv_job(3)
    import_job_start(job)
    job.refresh_from_db()
    client = client_for(ops_user)

    page = client.get(reverse("admin:imports_importjob_change", args=[job.pk]))

    shown = text(page)
    assert shown.count("Done: 3 rows, 3 new, 0 changed, 0 unchanged, 0 invalid.") == 1
    assert "Done Done" not in shown and "Rows total" not in shown  # said once, by the card
    html = page.content.decode()
    assert reverse("admin:audit_changeset_change", args=[job.change_set_id]) in html
    imported = f"{reverse('admin:inventory_product_changelist')}?import_job={job.pk}"
    assert imported.replace("&", "&amp;") in html or imported in html
    listed = client.get(imported)
    assert listed.status_code == 200
    assert sorted(product.sku for product in listed.context["cl"].result_list) == ["L-0", "L-1", "L-2"]


def test_a_failed_job_says_why_once_and_lists_its_rows_to_fix_with_a_file(client_for, ops_user, lamps):
    job = csv_job(3, bad_row=1)
    import_job_start(job)
    job.refresh_from_db()
    client = client_for(ops_user)

    page = client.get(reverse("admin:imports_importjob_change", args=[job.pk]))

    shown = text(page)
    assert shown.count("1 row(s) are invalid, so nothing was imported") == 1
    assert "Failed: 1 row(s) are invalid, so nothing was imported (all or nothing). Fix rows 3" in shown
    assert "Rows to fix" in shown and "Some rows failed to validate" not in shown
    fix = client.get(reverse("admin:imports_importjob_rows_to_fix", args=[job.pk]))
    assert b"".join(fix.streaming_content).decode("utf-8-sig").splitlines() == [
        "sku,name,category,price,stock,problem",
        "L-1,Lamp 1,lamps,-1,1,price: -1 is negative: a price is 0 or more",
    ]
    assert Product.objects.count() == 0


def test_skipping_invalid_rows_imports_the_others_and_keeps_the_rows_to_fix(client_for, ops_user, lamps):
    job = csv_job(4, bad_row=2, skip_invalid=True)
    import_job_start(job)
    job.refresh_from_db()

    assert (job.status, job.created_count, job.failed_count) == ("done", 3, 1)
    page = text(client_for(ops_user).get(reverse("admin:imports_importjob_change", args=[job.pk])))
    assert "Done: 4 rows, 3 new, 0 changed, 0 unchanged, 1 invalid." in page
    assert "Download the 1 rows to fix" in page and "Invalid rows left out" in page
    assert "invalid rows skipped" in page  # how it was read: its options


def test_the_shells_rate_is_measured_from_when_its_pass_began(monkeypatch):
    clock = iter([100.0, 100.2, 102.0, 102.001, 103.0])
    monkeypatch.setattr("imports.command.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = ProgressBar(out, enabled=True)  # 100.0

    bar("checking", 100, 0)  # 0.2 s in: too short to say a rate
    bar("checking", 2000, 0)  # 2 s: 1,000 rows/s
    bar("importing", 2000, 2000)  # the first batch written 1 ms after checking ended: no rate yet
    bar("importing", 2000, 2000)  # 1 s after checking ended

    lines = [line for line in re.split(r"[\r\n]", out.getvalue()) if line]
    assert lines[0] == "Checking  100 rows"
    assert lines[1] == "Checking  2,000 rows  1,000 rows/s"
    assert lines[2].endswith("100% 2,000/2,000 rows")
    assert lines[3].endswith("2,000/2,000 rows  2,000 rows/s")
