"""The import jobs' list and page: one sentence that is true at each moment, kept live by static JS
polling a small JSON view; links to the change set, the records written and the rows to fix (a file
to download); the rows skipped with their reason; a retry for failed jobs. And the shop's saved
column mappings."""

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
from .job_messages import job_links
from .jobs import import_job_retry
from .models import ImportJob, ImportMapping
from .progress import import_job_is_stale, import_job_progress
from .registry import spec_class
from .saved_mappings import import_mapping_delete
from .sources import ImportOptions

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
    list_display_phone = ["file_name", "status_badge"]  # what fits a phone (390 px)
    list_select_related = ["user"]
    list_filter = [("status", ChoicesCheckboxFilter), ("resource", ChoicesCheckboxFilter)]
    ordering = ["-created_at", "-id"]
    change_form_template = "admin/imports/importjob/change_form.html"
    # Where the job stands is said once, by the card above the fields (kept live): not here too.
    fields = [
        "file_name",
        "resource",
        "file_format",
        "how_read",
        "user",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = ["how_read"]
    actions_detail = ["retry"]

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        if import_job_is_stale(obj):  # its worker died: failed, though not yet marked so
            return ImportJob.Status.FAILED, ImportJob.Status.FAILED.label
        return obj.status, obj.get_status_display()

    @display(description="Progress")
    def progress(self, obj):
        return f"{obj.rows_processed}/{obj.rows_total} ({obj.progress_percent}%)"

    @display(description="Read with")
    def how_read(self, obj):
        return ImportOptions.from_json(obj.options).described() or "the file's own column names"

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
        to_fix = path(
            "<path:object_id>/rows-to-fix/",
            self.admin_site.admin_view(self.rows_to_fix_view),
            name="imports_importjob_rows_to_fix",
        )
        return [progress, download, to_fix, *super().get_urls()]

    def file_view(self, request, object_id):
        """The job's file, streamed to staff who may read both import jobs and what the file holds
        (products, categories or customers): import files have no URL of their own."""
        return self._stream(request, object_id, "file", lambda job: job.file_name)

    def rows_to_fix_view(self, request, object_id):
        """The invalid rows of the job's file, as it had them, with a "problem" column: to fix and import."""
        return self._stream(
            request, object_id, "fix_file", lambda job: f"{job.file_name.rsplit('.', 1)[0]}-to-fix.csv"
        )

    def _stream(self, request, object_id, field: str, name):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self._job(request, object_id)
        if not may_read_file(request.user, job):
            raise PermissionDenied
        stored = getattr(job, field)
        if not stored:
            raise Http404("This import has no such file.")
        try:
            handle = stored.open("rb")
        except FileNotFoundError as error:
            raise Http404("This import's file is no longer kept.") from error
        return FileResponse(
            handle,
            as_attachment=True,
            filename=name(job),
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
                "links": job_links(job, fix_file=may_read_file(request.user, job)),
                "problems": job.error_report if isinstance(job.error_report, list) else [],
                "problems_truncated": len(job.error_report or []) >= MAX_PROBLEMS,
                "set_aside": job.set_aside_report if isinstance(job.set_aside_report, list) else [],
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


@admin.register(ImportMapping)
class ImportMappingAdmin(ReadOnlyAdmin):
    """The shop's saved column mappings: listed, and deleted by who may import what they map."""

    list_display = ["name", "resource", "preset", "columns_mapped", "user", "updated_at"]
    list_filter = [("resource", ChoicesCheckboxFilter)]
    fields = ["name", "resource", "preset", "create_missing", "mapped", "user", "updated_at"]
    readonly_fields = ["mapped"]

    @display(description="Columns")
    def columns_mapped(self, obj):
        mapped = sum(1 for target in obj.columns.values() if target)
        return f"{mapped} of {len(obj.columns)} mapped"

    @display(description="Mapping")
    def mapped(self, obj):
        return "; ".join(f"{header} → {target or 'ignored'}" for header, target in obj.columns.items())

    def _may_import(self, request, obj=None) -> bool:
        resources = (
            [obj.resource]
            if obj is not None
            else [name for name, _ in ImportJob._meta.get_field("resource").choices]
        )
        return any(request.user.has_perms(import_permissions(resource) or ("-",)) for resource in resources)

    def has_module_permission(self, request):
        return self._may_import(request)

    def has_view_permission(self, request, obj=None):
        return self._may_import(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_import(request, obj)

    def delete_model(self, request, obj):
        import_mapping_delete(mapping=obj)
