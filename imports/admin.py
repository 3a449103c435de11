"""The import jobs' list and page: a live progress bar (static JS polling a small JSON view), the rows
to fix when a file was refused, and a retry for failed jobs."""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.urls import path, reverse
from unfold.contrib.filters.admin import ChoicesCheckboxFilter
from unfold.decorators import action

from core.admin_base import REFUSED, ReadOnlyAdmin, redirect_from_dialog
from core.cells import display

from .engine import MAX_PROBLEMS
from .jobs import import_job_retry
from .models import ImportJob
from .progress import import_job_is_stale, import_job_progress
from .registry import spec_class

STATUS_COLOURS = {
    ImportJob.Status.QUEUED: "default",
    ImportJob.Status.RUNNING: "info",
    ImportJob.Status.DONE: "success",
    ImportJob.Status.FAILED: "danger",
    ImportJob.Status.AWAITING_APPROVAL: "warning",
    ImportJob.Status.NOT_APPROVED: "danger",
}


def import_permissions(resource: str) -> tuple[str, ...]:
    """Who may import (and so retry) a kind of file: what its spec names."""
    try:
        return spec_class(resource).permissions
    except LookupError:
        return ()


def may_read_file(user, job) -> bool:
    """Who may read a job's file: those who may read what it holds (its spec's ``view_permission``)."""
    try:
        wanted = spec_class(job.resource).view_permission
    except LookupError:
        return False
    return bool(job.file) and bool(wanted) and user.has_perm(wanted)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = [
        "file_name",
        "resource",
        "status_badge",
        "progress",
        "created_count",
        "updated_count",
        "skipped_count",
        "failed_count",
        "user",
        "created_at",
    ]
    list_select_related = ["user"]
    list_filter = [("status", ChoicesCheckboxFilter), ("resource", ChoicesCheckboxFilter)]
    ordering = ["-created_at", "-id"]
    change_form_template = "admin/imports/importjob/change_form.html"
    fields = [
        "file_name",
        "resource",
        "file_format",
        "status",
        "user",
        "rows_total",
        "rows_processed",
        "created_count",
        "updated_count",
        "skipped_count",
        "failed_count",
        "attempts",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    ]
    actions_detail = ["retry"]

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        if import_job_is_stale(obj):  # its worker died: failed, though not yet marked so
            return ImportJob.Status.FAILED, ImportJob.Status.FAILED.label
        return obj.status, obj.get_status_display()

    @display(description="Progress")
    def progress(self, obj):
        return f"{obj.rows_processed}/{obj.rows_total} ({obj.progress_percent}%)"

    def get_urls(self):
        progress = path(
            "<path:object_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="imports_importjob_progress",
        )
        download = path(
            "<path:object_id>/file/",
            self.admin_site.admin_view(self.file_view),
            name="imports_importjob_file",
        )
        return [progress, download, *super().get_urls()]

    def file_view(self, request, object_id):
        """The job's file, streamed to staff who may read both import jobs and what the file holds
        (products, categories or customers): import files have no URL of their own."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self._job(request, object_id)
        if not may_read_file(request.user, job):
            raise PermissionDenied
        try:
            handle = job.file.open("rb")
        except FileNotFoundError as error:
            raise Http404("This import's file is no longer kept.") from error
        return FileResponse(
            handle,
            as_attachment=True,
            filename=job.file_name,
            content_type="application/octet-stream",
            headers={"Cache-Control": "private, no-store"},
        )

    def _job(self, request, object_id) -> ImportJob:
        job = self.get_object(request, unquote(str(object_id)))
        if job is None:
            raise Http404("No such import")
        return job

    def progress_view(self, request, object_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self._job(request, object_id)
        return JsonResponse(import_job_progress(job), headers={"Cache-Control": "no-store"})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(str(object_id)))
        extra = {}
        if job is not None:
            # Reading changes nothing: a job whose worker died shows as failed (import_job_progress),
            # and is marked so by a worker, by beat or by its retry.
            extra = {
                "job": job,
                "file_url": (
                    reverse("admin:imports_importjob_file", args=[job.pk])
                    if may_read_file(request.user, job)
                    else None
                ),
                "progress": import_job_progress(job),
                "progress_url": reverse("admin:imports_importjob_progress", args=[job.pk]),
                "problems": job.error_report if isinstance(job.error_report, list) else [],
                "problems_truncated": len(job.error_report or []) >= MAX_PROBLEMS,
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def has_retry_permission(self, request, object_id=None):
        if object_id is None:
            return False
        job = self.get_object(request, unquote(str(object_id)))
        wanted = import_permissions(job.resource) if job is not None else ()
        return bool(wanted) and request.user.has_perms(wanted)

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        job = self.get_object(request, unquote(str(object_id)))
        retryable = (
            job is not None
            and (job.status == ImportJob.Status.FAILED or import_job_is_stale(job))
            and bool(job.file)
        )
        return [a for a in actions if retryable or a.action_name != "imports_importjob_retry"]

    @action(
        description="Retry",
        permissions=["retry"],
        icon="replay",
        dialog={
            "title": "Retry this import",
            "description": (
                "A worker imports the file again. Rows already imported are found by their key and left "
                "as they are: nothing is duplicated."
            ),
            "form_submit_text": "Retry",
        },
    )
    def retry(self, request, form, object_id):
        job = self._job(request, object_id)
        retried = self.run_service(request, lambda: import_job_retry(job=job, user=request.user))
        if retried is not REFUSED:
            self.message_user(request, f"{job.file_name} is queued again.", messages.SUCCESS)
        return redirect_from_dialog(request, reverse("admin:imports_importjob_change", args=[job.pk]))
