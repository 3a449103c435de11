"""What a person is told about an import job, and where it links: the message after confirming, the
links of the job page (its change set, the records it wrote, the rows to fix)."""

from django.conf import settings
from django.contrib import messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from .models import ImportJob
from .registry import spec_class


def imported_rows_url(job: ImportJob) -> str | None:
    """The resource's list filtered to the records the job created or changed (None: nothing written)."""
    if not job.change_set_id:
        return None
    try:
        opts = spec_class(job.resource).model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except (LookupError, NoReverseMatch):
        return None
    return f"{url}?import_job={job.pk}"


def job_links(job: ImportJob, *, fix_file: bool = True) -> list[tuple[str, str]]:
    """(URL, text) of what the job page and its messages link to (``fix_file``: the rows to fix too,
    for who may read what the file holds)."""
    links = []
    if job.change_set_id:
        links.append(
            (reverse("admin:audit_changeset_change", args=[job.change_set_id]), "See or undo this change")
        )
    rows = imported_rows_url(job)
    if rows:
        label = spec_class(job.resource).label.lower()
        links.append((rows, f"See the imported {label}"))
    if job.fix_file and fix_file:
        links.append(
            (
                reverse("admin:imports_importjob_rows_to_fix", args=[job.pk]),
                f"Download the {job.failed_count} rows to fix",
            )
        )
    return links


def job_counts(job: ImportJob) -> str:
    text = f"{job.created_count} new, {job.updated_count} changed, {job.skipped_count} unchanged"
    if job.set_aside_count:
        text += f", {job.set_aside_count} skipped"
    if job.failed_count:
        text += f", {job.failed_count} invalid left out"
    return text


def job_outcome_message(job: ImportJob, report) -> tuple[str, int, bool]:
    """(message, level, whether to show the job's page) once a confirmed import ran or was queued."""
    job_url = reverse("admin:imports_importjob_change", args=[job.pk])
    if report is None and job.status != ImportJob.Status.FAILED:
        if job.rows_total > settings.IMPORT_BACKGROUND_ROWS:
            text = format_html(
                "{} has {} rows: a worker imports it in the background (files of more than {} rows are "
                'imported that way). <a href="{}" class="underline">Follow its progress</a>',
                job.file_name,
                f"{job.rows_total:,}",
                f"{settings.IMPORT_BACKGROUND_ROWS:,}",
                job_url,
            )
        else:
            text = format_html(
                "Another import into this shop is running: a worker imports {} when it has finished (imports "
                'of one shop take turns). <a href="{}" class="underline">Follow its progress</a>',
                job.file_name,
                job_url,
            )
        return text, messages.INFO, True
    if job.status != ImportJob.Status.DONE:
        text = format_html(
            'Nothing more was imported: {} <a href="{}" class="underline">See the import</a>',
            job.error_message,
            job_url,
        )
        return text, messages.ERROR, True
    links = format_html_join(" ", '<a href="{}" class="underline">{}</a>', job_links(job))
    text = format_html("Imported {}: {}. {}", job.file_name, job_counts(job), links)
    return text, messages.SUCCESS, bool(job.set_aside_count or job.failed_count)
