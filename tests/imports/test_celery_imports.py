"""Background imports through a real Celery worker: on the file-system queue (the default, no server)
and on Redis (``TEST_REDIS_URL``, set by ./dev test). The job's progress is watched while it runs.

The worker needs the data the test commits, so these tests use real transactions.
"""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

from imports.engine import Import
from imports.jobs import import_job_create, import_job_retry, import_job_start
from imports.models import ImportJob
from inventory.models import Category, Product, StockMovement
from tests.celery_helpers import embedded_worker, filesystem_broker, use_broker

ROOT = Path(__file__).resolve().parents[2]
# The worker runs beside the test, on its own database connection: SQLite's in-memory test database
# shared between threads locks whole tables, so these run on PostgreSQL (./dev test).


def write_products(path: Path, count: int, *, prefix="BG") -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "category", "price", "stock"])
        writer.writerows(
            [f"{prefix}-{n:06d}", f"Background {n}", "phones", "1.50", n % 7] for n in range(count)
        )
    return path


@pytest.fixture(params=["filesystem", "redis"])
def worker(request, tmp_path):
    """An embedded worker (a thread of this process) on the chosen broker, with a private queue."""
    if request.param == "redis":
        url = os.environ.get("TEST_REDIS_URL")
        if not url:
            pytest.skip("TEST_REDIS_URL is not set (./dev test starts a Redis server)")
        broker, options = url, {}
    else:
        broker, options = filesystem_broker(tmp_path / "queue")
    with embedded_worker(broker, options) as running:
        yield running


def wait_for(job: ImportJob, *, until, timeout=60.0, seen=None, log: Path | None = None) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if seen is not None:
            seen.append((job.status, job.rows_processed, job.rows_total))
        if until(job):
            return job
        time.sleep(0.05)
    worker_log = log.read_text()[-4000:] if log is not None and log.exists() else ""
    raise AssertionError(
        f"job still {job.status} ({job.rows_processed}/{job.rows_total}): {job.error_message}\n{worker_log}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_big_file_is_imported_by_a_worker_with_live_progress(
    worker, tmp_path, settings, monkeypatch, ops_user
):
    settings.IMPORT_BACKGROUND_ROWS = 10
    settings.IMPORT_BATCH_ROWS = 10
    Category.objects.create(name="Phones", slug="phones")
    content = write_products(tmp_path / "big.csv", 60).read_bytes()
    slow_write = Import._write

    def write_slowly(self, rows, report):  # long enough for the test to watch the bar move
        time.sleep(0.15)
        return slow_write(self, rows, report)

    monkeypatch.setattr(Import, "_write", write_slowly)
    job = import_job_create(
        resource="products", file_name="big.csv", content=content, file_format="csv", user=ops_user
    )

    job, report = import_job_start(job, rows=60)  # queued: the task goes to the broker

    assert report is None
    seen = []
    job = wait_for(job, until=lambda j: j.status in ("done", "failed"), seen=seen)
    assert job.status == "done", job.error_message
    assert any(status == "running" and 0 < done < total == 60 for status, done, total in seen), seen
    assert (job.rows_total, job.rows_processed, job.created_count, job.updated_count) == (60, 60, 60, 0)
    assert job.attempts == 1 and job.heartbeat_at is not None and job.finished_at is not None
    assert Product.objects.count() == 60
    assert StockMovement.objects.filter(kind="import", reference_id=str(job.pk)).count() == 60 - 9


@pytest.mark.django_db(transaction=True)
def test_categories_in_the_background_too(worker, tmp_path, settings):
    settings.IMPORT_BACKGROUND_ROWS = 2
    settings.IMPORT_BATCH_ROWS = 2
    content = (
        b"name,slug,parent\nElectronics,electronics,\nPhones,phones,Electronics\nCases,,Electronics/Phones\n"
    )
    job = import_job_create(resource="categories", file_name="c.csv", content=content, file_format="csv")

    import_job_start(job, rows=3)

    job = wait_for(job, until=lambda j: j.status in ("done", "failed"))
    assert (job.status, job.created_count, job.rows_processed) == ("done", 3, 3), job.error_message
    assert Category.objects.get(name="Cases").path == "Electronics/Phones/Cases"


# --- A worker process on the file-system queue, killed half-way ---------------------------------------
def start_worker_process(env: dict, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "backoffice",
        "worker",
        "--pool",
        "solo",
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        "INFO",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_file_leaves_the_job_failed_and_a_retry_finishes_it(tmp_path, settings):
    """The demo's set-up: ``celery -A backoffice worker`` on the file-system queue in a folder. The
    worker is killed (SIGKILL) half-way through; the next worker marks the job failed (its heartbeat
    stopped); the retry imports the rest without duplicating anything."""
    from backoffice.celery import app

    queue = tmp_path / "queue"
    broker, options = filesystem_broker(queue)
    # The worker process opens the test database: the server of DATABASE_URL, the test's database name.
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@localhost/x"))
    env = {
        **os.environ,
        "DATABASE_URL": urlunsplit(server._replace(path="/" + django_settings.DATABASES["default"]["NAME"])),
        "CELERY_BROKER_URL": "",
        "CELERY_QUEUE_DIR": str(queue),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PRIVATE_FILES_ROOT": str(settings.PRIVATE_FILES_ROOT),
        "IMPORT_BATCH_ROWS": "200",
        "IMPORT_STALE_SECONDS": "2",
        "DEBUG": "1",
        "LOG_JSON": "0",
    }
    saved = app.conf.broker_url, app.conf.broker_transport_options
    use_broker(app, broker, options)
    settings.IMPORT_STALE_SECONDS = 2
    Category.objects.create(name="Phones", slug="phones")
    rows = 10_000
    content = write_products(tmp_path / "supplier.csv", rows).read_bytes()
    job = import_job_create(resource="products", file_name="supplier.csv", content=content, file_format="csv")
    log = tmp_path / "worker.log"
    first = start_worker_process(env, log)
    try:
        import_job_start(job, rows=rows)
        job = wait_for(
            job, until=lambda j: j.status == "running" and j.rows_total and j.rows_processed >= 400, log=log
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        job.refresh_from_db()
        assert job.status == "running" and job.rows_processed < rows  # killed half-way
        imported = Product.objects.count()
        assert 0 < imported < rows

        time.sleep(2.5)  # the heartbeat goes stale
        second = start_worker_process(env, tmp_path / "worker.log")
        try:
            job = wait_for(job, until=lambda j: j.status == "failed", timeout=60, log=log)
            assert "stopped answering" in job.error_message

            import_job_retry(job=job)
            job = wait_for(job, until=lambda j: j.status in ("done", "failed"), timeout=180, log=log)
        finally:
            second.terminate()
            second.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
        use_broker(app, *saved)

    log = (tmp_path / "worker.log").read_text()
    assert job.status == "done", job.error_message + log[-3000:]
    assert (job.rows_processed, job.created_count + job.skipped_count, job.attempts) == (rows, rows, 2)
    assert job.skipped_count >= imported  # rows of the killed attempt were recognised, not duplicated
    assert Product.objects.count() == rows
    stock_moved = StockMovement.objects.filter(reference_id=str(job.pk)).values_list("product_id", flat=True)
    assert len(stock_moved) == len(set(stock_moved)) == Product.objects.filter(stock__gt=0).count()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM inventory_product p WHERE p.stock <> "
            "(SELECT COALESCE(SUM(quantity), 0) FROM inventory_stockmovement m WHERE m.product_id = p.id)"
        )
        assert cursor.fetchone()[0] == 0  # the ledger explains every product's stock
