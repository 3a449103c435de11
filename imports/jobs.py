"""Import jobs: a file kept with its job, run in the request when it is small and by a Celery worker
when it is big, its progress and heartbeat written as it runs, its outcome (counts, or the rows to fix)
written on the job; a failed job can be retried, and a job whose worker died is marked failed.
"""

import logging
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from approvals.selectors import approval_note_for
from audit.recording import reasons_noted

from .engine import ImportReport, run_import
from .errors import ImportBusy, ImportRefused
from .files import count_rows, local_file
from .locking import COMMAND_LOCK_WAIT, REQUEST_LOCK_WAIT, WORKER_LOCK_WAIT, shop_import_lock
from .models import ImportJob
from .presets import preset_named
from .progress import import_job_is_stale, import_jobs_fail_stale, stale_after
from .readers import ImportFileError
from .registry import new_spec
from .signals import announce_finished
from .sources import ImportOptions, open_source
from .template_files import fix_file_csv

logger = logging.getLogger(__name__)

# Task names are what queued messages carry: kept from when imports lived in the catalogue app, so a
# message queued before an upgrade still finds its task.
RUN_TASK = "inventory.run_import_job"
FAIL_STALE_TASK = "inventory.fail_stale_import_jobs"
# The approvable operation of a held import (``imports.approval``): its job runs once approved.
APPROVAL_OPERATION = "imports.import_job_run"


class JobTakenOver(Exception):
    """The job is no longer this run's: marked failed as stale, or picked up by another attempt."""


def shown_file_name(file_name) -> str:
    """The name a file is shown and recorded by (the stored file is named by the server): no path,
    no control characters."""
    return "".join(ch for ch in Path(str(file_name)).name if ch.isprintable())[:255] or "import"


def import_job_create(
    *, resource: str, file_name: str, content, file_format: str, user=None, options: dict | None = None
) -> ImportJob:
    """Keep the uploaded file with a new queued job (the worker, and any retry, read it from there);
    ``options`` say how it is read and mapped (``sources.ImportOptions`` as JSON)."""
    name = shown_file_name(file_name)
    job = ImportJob(
        resource=resource,
        file_name=name,
        file_format=file_format,
        user=user if getattr(user, "is_authenticated", False) else None,
        options=ImportOptions.from_json(options).as_json(),
    )
    body = ContentFile(content) if isinstance(content, bytes | str) else File(content)
    job.file.save(name, body, save=False)
    job.save()
    return job


def import_job_start(job: ImportJob, *, rows: int | None = None):
    """Run a new job now when the file is small, else hand it to a worker (its rows are counted
    first, unless given: a file that can't be read is refused, and its job deleted).

    Returns ``(job, report)`` when it ran here, ``(job, None)`` when it was queued.
    """
    if rows is None:
        try:
            rows = count_rows(job)
        except ImportFileError:
            job.file.delete(save=False)
            job.delete()
            raise
    ImportJob.objects.filter(pk=job.pk).update(rows_total=rows)
    job.rows_total = rows
    if rows > settings.IMPORT_BACKGROUND_ROWS:
        import_job_enqueue(job)
        return job, None
    try:
        with shop_import_lock(wait=REQUEST_LOCK_WAIT):
            report = import_job_run(job.pk)
    except ImportBusy:
        import_job_enqueue(job)  # a worker runs it when the running import has finished
        return job, None
    job.refresh_from_db()
    return job, report


def import_job_enqueue(job: ImportJob) -> None:
    """Queue the job's task once the transaction that created (or re-queued) the job commits."""

    def send():
        try:
            # The task by name (registered by ImportsConfig.ready): its module imports this one.
            current_app.tasks[RUN_TASK].delay(job.pk, job.tenant_id)
        except Exception as error:  # the broker is down: say so on the job instead of leaving it queued
            logger.exception("Could not queue import job %s", job.pk)
            ImportJob.unscoped.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
                status=ImportJob.Status.FAILED,
                finished_at=timezone.now(),
                error_message=f"The import could not be handed to a worker ({error}). Retry it once the "
                "task queue is back.",
            )

    transaction.on_commit(send)


def _claim(job_id) -> int | None:
    """Mark the job running for this attempt; None if it isn't ours to run (done, failed, or running
    elsewhere with a live heartbeat). A job whose worker died (stale heartbeat) may be taken over."""
    now = timezone.now()
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ImportJob.Status.QUEUED)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - stale_after())
        )
        .update(
            status=ImportJob.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error_message="",
        )
    )
    if not claimed:
        return None
    return ImportJob.objects.values_list("attempts", flat=True).get(pk=job_id)


def _finish(
    job_id,
    attempt: int,
    *,
    status,
    report: ImportReport | None = None,
    message: str = "",
    announce: bool = False,
    **counts,
):
    """Write the job's outcome (if it is still this attempt's); ``announce`` it to the apps that follow
    imports (an e-mail to the person who started a background import)."""
    now = timezone.now()
    # Messages may quote a file: never a character the database refuses (NUL).
    message = message.replace("\x00", "\\x00")
    values = {"status": status, "finished_at": now, "heartbeat_at": now, "error_message": message, **counts}
    if report is not None:
        values.update(
            rows_total=report.rows_total,
            rows_checked=report.rows_total,
            created_count=report.created,
            updated_count=report.updated,
            skipped_count=report.unchanged,
            set_aside_count=report.skipped,
            failed_count=report.invalid,
            error_report=[problem.as_dict() for problem in report.problems],
            set_aside_report=[problem.as_dict() for problem in report.skipped_rows],
        )
        if report.written:
            values["rows_processed"] = report.rows_total
    finished = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING, attempts=attempt).update(
        **values
    )
    if finished and announce:
        announce_finished(job_id)


def import_job_run(job_id, *, background: bool = False) -> ImportReport | None:
    """Run (or take over) a job: the Celery task calls this, and the admin for small files.

    Every outcome is written on the job: done with its counts, or failed with the reason (invalid
    rows listed in ``error_report``). Returns the report, or None when the job wasn't this run's.
    A ``background`` job's outcome is announced (``import_job_finished``): nobody is watching its page.
    """
    attempt = _claim(job_id)
    if attempt is None:
        logger.info("Import job %s is not waiting to run: left alone", job_id)
        return None
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    options = ImportOptions.from_json(job.options)
    progress = {"done": 0}

    def on_progress(phase, done, total):
        # Checking counts rows_checked, writing rows_processed: the page says which pass it is in.
        progress["done"] = done if phase == "importing" else 0
        counted = {"rows_processed": done} if phase == "importing" else {"rows_checked": done}
        alive = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING, attempts=attempt).update(
            **counted, heartbeat_at=timezone.now()
        )
        if not alive:
            raise JobTakenOver

    def heartbeat():
        alive = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
        if not alive:
            raise JobTakenOver

    try:
        with (
            shop_import_lock(wait=WORKER_LOCK_WAIT, on_wait=heartbeat),
            local_file(job.file.name, job.file.storage) as path,
            # A job released by an approval: its history says who asked and who approved.
            reasons_noted(approval_note_for(job, operation=APPROVAL_OPERATION)),
        ):
            source = open_source(path, job.file_format, options)
            report = run_import(
                new_spec(job.resource, create_missing=options.create_missing),
                table=source.table,
                file_name=job.file_name,
                user=job.user,
                job=job,
                on_progress=on_progress,
                all_or_nothing=not options.skip_invalid,
            )
            if report.fix_rows:
                _keep_fix_file(job, source.raw, report, options)
    except JobTakenOver:
        logger.warning("Import job %s was marked failed or taken over while it ran: stopped", job_id)
        return None
    except ImportFileError as error:
        _finish(
            job_id,
            attempt,
            status=ImportJob.Status.FAILED,
            message=str(error),
            rows_processed=0,
            announce=background,
        )
        return None
    except ImportRefused as error:
        _finish(job_id, attempt, status=ImportJob.Status.FAILED, message=str(error))
        return None
    except Exception as error:
        logger.exception("Import job %s stopped", job_id)
        _finish(
            job_id,
            attempt,
            status=ImportJob.Status.FAILED,
            announce=background,
            message=(
                f"The import stopped after {progress['done']} rows: {error}. Rows imported before it are "
                "kept; retry the job to import the rest (rows already imported are found by their key "
                "and not duplicated)."
            ),
        )
        return None
    if report.invalid and not report.written:
        _finish(
            job_id,
            attempt,
            status=ImportJob.Status.FAILED,
            report=report,
            announce=background,
            message=(
                f"{report.invalid} row(s) are invalid, so nothing was imported (all or nothing). Fix rows "
                f"{report.rows_to_fix_text()} and import the file again."
            ),
            rows_processed=0,
        )
    else:
        _finish(job_id, attempt, status=ImportJob.Status.DONE, report=report, announce=background)
    return report


def _keep_fix_file(job: ImportJob, raw, report: ImportReport, options: ImportOptions) -> None:
    """The invalid rows as the file had them, with their problems: kept with the job to download."""
    if job.fix_file:
        job.fix_file.delete(save=False)
    preset = preset_named(options.preset)
    content = fix_file_csv(raw, report.fix_rows, group_by=preset.group_by if preset is not None else "")
    job.fix_file.save("rows-to-fix.csv", ContentFile(content), save=False)
    ImportJob.objects.filter(pk=job.pk).update(fix_file=job.fix_file.name)


def import_job_retry(*, job: ImportJob, user=None) -> ImportJob:
    """Queue a failed job (or one whose worker died) again. Rows it imported before failing are found
    by their key and left alone, so a retry never duplicates anything."""
    if import_job_is_stale(job):
        import_jobs_fail_stale(ImportJob.objects.filter(pk=job.pk))
        job.refresh_from_db()
    if job.status != ImportJob.Status.FAILED:
        raise ImportRefused(
            f"Only a failed import can be retried; this one is {job.get_status_display().lower()}."
        )
    if not job.file:
        raise ImportRefused(
            "This import's file was not kept (it ran from the command line): run the command again."
        )
    with transaction.atomic():
        requeued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
            status=ImportJob.Status.QUEUED,
            rows_checked=0,
            rows_processed=0,
            created_count=0,
            updated_count=0,
            skipped_count=0,
            set_aside_count=0,
            failed_count=0,
            error_report=[],
            set_aside_report=[],
            error_message="",
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
        )
        if not requeued:
            raise ImportRefused("This import was retried already.")
        import_job_enqueue(job)
    job.refresh_from_db()
    return job


def import_recorded(
    *, resource: str, table, file_name: str, user=None, lock_wait: float = COMMAND_LOCK_WAIT, **options
) -> tuple[ImportJob | None, ImportReport]:
    """Import a file that isn't kept (the command line, a program): it still gets its ImportJob, the
    ledger's reference and the admin's record, unless nothing was written (then none is left).
    Waits up to ``lock_wait`` seconds for another import into the shop to finish (``ImportBusy``);
    ``options`` are the engine's (``all_or_nothing``, ``on_progress``, ``batch_size``) and
    ``create_missing`` (the spec's)."""
    with shop_import_lock(wait=lock_wait):
        return _import_recorded(resource=resource, table=table, file_name=file_name, user=user, **options)


def _import_recorded(*, resource, table, file_name, user, create_missing=False, **options):
    file_name = shown_file_name(file_name)
    job = ImportJob.objects.create(
        resource=resource,
        file_name=file_name,
        file_format=Path(file_name).suffix.lstrip(".").lower()[:10] or "csv",
        status=ImportJob.Status.RUNNING,
        user=user if getattr(user, "is_authenticated", False) else None,
        started_at=timezone.now(),
        attempts=1,
    )
    try:
        report = run_import(
            new_spec(resource, create_missing=create_missing),
            table=table,
            file_name=file_name,
            user=user,
            job=job,
            **options,
        )
    except ImportFileError:
        job.delete()
        raise
    except BaseException as error:
        _finish(job.pk, 1, status=ImportJob.Status.FAILED, message=f"The import stopped: {error}")
        raise
    if not report.written:
        job.delete()
        return None, report
    _finish(job.pk, 1, status=ImportJob.Status.DONE, report=report)
    job.refresh_from_db()
    return job, report
