"""Where a job stands, as its page and its progress bar show it, and jobs whose worker died.

Reading a job changes nothing: a running job whose worker stopped sending heartbeats shows as failed
at once, and is marked failed by the next worker that starts, by Celery beat, or when it is retried.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import ImportJob
from .signals import announce_finished


def stale_after() -> timedelta:
    """A running job whose heartbeat is older than this has lost its worker."""
    return timedelta(seconds=settings.IMPORT_STALE_SECONDS)


def import_job_is_stale(job: ImportJob) -> bool:
    """A running job whose worker stopped sending heartbeats (it died)."""
    return (
        job.status == ImportJob.Status.RUNNING
        and job.heartbeat_at is not None
        and job.heartbeat_at < timezone.now() - stale_after()
    )


def _stale_message(job: ImportJob) -> str:
    return (
        f"The worker running this import stopped answering (last heartbeat "
        f"{timezone.localtime(job.heartbeat_at):%Y-%m-%d %H:%M:%S}) after {job.rows_processed} of "
        f"{job.rows_total or '?'} rows. Rows imported before it are kept; retry the job to import "
        "the rest (they are found by their key and not duplicated)."
    )


def import_jobs_fail_stale(queryset=None) -> int:
    """Mark failed the running jobs whose worker is gone (no heartbeat for ``stale_after()``)."""
    queryset = ImportJob.objects.all() if queryset is None else queryset
    now = timezone.now()
    failed = 0
    for job in queryset.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - stale_after()):
        marked = queryset.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(status=ImportJob.Status.FAILED, finished_at=now, error_message=_stale_message(job))
        if marked:
            announce_finished(job.pk)
        failed += marked
    return failed


def import_job_progress(job: ImportJob) -> dict:
    """What the job page says (polled as JSON): one sentence true at this moment, the current pass's
    bar, and once finished its counts."""
    status, error_message = job.status, job.error_message
    if import_job_is_stale(job):
        status, error_message = ImportJob.Status.FAILED, _stale_message(job)
    total = f"{job.rows_total:,}" if job.rows_total else "?"
    percent = job.progress_percent
    if status == ImportJob.Status.QUEUED:
        headline, percent = "Queued: waiting for a worker.", 0
    elif status == ImportJob.Status.RUNNING and not job.rows_processed and job.rows_checked < job.rows_total:
        headline = f"Checking the rows: {job.rows_checked:,} of {total} checked."
    elif status == ImportJob.Status.RUNNING:
        headline = f"Writing: {job.rows_processed:,} of {total} rows written."
    elif status == ImportJob.Status.AWAITING_APPROVAL:
        headline, percent = "Waiting for another person's approval: a worker imports it once approved.", 0
    elif status == ImportJob.Status.NOT_APPROVED:
        headline, percent = f"Not approved: {error_message}", 0
    elif status == ImportJob.Status.DONE:
        skipped = f", {job.set_aside_count:,} skipped" if job.set_aside_count else ""
        headline = (
            f"Done: {job.rows_total:,} rows, {job.created_count:,} new, {job.updated_count:,} changed, "
            f"{job.skipped_count:,} unchanged{skipped}, {job.failed_count:,} invalid."
        )
        percent = 100
    else:
        headline = f"Failed: {error_message}"
    return {
        "status": status,
        "status_label": ImportJob.Status(status).label,
        "headline": headline,
        # Nothing to poll for while a job waits for a person, or after it ends.
        "finished": status
        in (
            ImportJob.Status.DONE,
            ImportJob.Status.FAILED,
            ImportJob.Status.AWAITING_APPROVAL,
            ImportJob.Status.NOT_APPROVED,
        ),
        "rows_total": job.rows_total,
        "rows_checked": job.rows_checked,
        "rows_processed": job.rows_processed,
        "percent": percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.skipped_count,
        "skipped": job.set_aside_count,
        "invalid": job.failed_count,
        "error_message": error_message,
    }
