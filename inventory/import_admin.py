"""The import job's admin page: a live progress bar (static JS polling a small JSON view), the rows to
fix when a file was refused, and a retry for failed jobs."""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.urls import path, reverse
from unfold.decorators import action

from backoffice.admin_base import REFUSED, redirect_from_dialog
from backoffice.import_export_admin import BackofficeImportExportMixin

from . import imports
from .models import ImportJob
from .resources import CategoryResource, ProductResource

# Who may import (and so retry) each kind of file.
IMPORT_PERMISSIONS = {
    ImportJob.Resource.PRODUCTS: ("inventory.import_product",),
    ImportJob.Resource.CATEGORIES: ("inventory.add_category", "inventory.change_category"),
    ImportJob.Resource.CUSTOMERS: ("orders.add_customer", "orders.change_customer"),
}


# Who may read a job's file: those who may read what it holds.
READ_PERMISSIONS = {
    ImportJob.Resource.PRODUCTS: "inventory.view_product",
    ImportJob.Resource.CATEGORIES: "inventory.view_category",
    ImportJob.Resource.CUSTOMERS: "orders.view_customer",
}


class ProductImportExport(BackofficeImportExportMixin):
    """Import (fast path, big files on a worker) and export of products, for ``ProductAdmin``."""

    resource_classes = [ProductResource]
    import_permissions = IMPORT_PERMISSIONS[ImportJob.Resource.PRODUCTS]
    import_job_resource = ImportJob.Resource.PRODUCTS


class CategoryImportExport(BackofficeImportExportMixin):
    resource_classes = [CategoryResource]
    import_permissions = IMPORT_PERMISSIONS[ImportJob.Resource.CATEGORIES]
    import_job_resource = ImportJob.Resource.CATEGORIES


class ImportJobPageMixin:
    """Put before ``ReadOnlyAdmin``: ``class ImportJobAdmin(ImportJobPageMixin, ReadOnlyAdmin)``."""

    change_form_template = "admin/inventory/importjob/change_form.html"
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

    def get_urls(self):
        progress = path(
            "<path:object_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="inventory_importjob_progress",
        )
        download = path(
            "<path:object_id>/file/",
            self.admin_site.admin_view(self.file_view),
            name="inventory_importjob_file",
        )
        return [progress, download, *super().get_urls()]

    def file_view(self, request, object_id):
        """The job's file, streamed to staff who may read both import jobs and what the file holds
        (products, categories or customers): import files have no URL of their own."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = self._job(request, object_id)
        if not request.user.has_perm(READ_PERMISSIONS[job.resource]) or not job.file:
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
        return JsonResponse(imports.import_job_progress(job), headers={"Cache-Control": "no-store"})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(str(object_id)))
        extra = {}
        if job is not None:
            extra = {
                "job": job,
                "file_url": (
                    reverse("admin:inventory_importjob_file", args=[job.pk])
                    if job.file and request.user.has_perm(READ_PERMISSIONS[job.resource])
                    else None
                ),
                "progress": imports.import_job_progress(job),
                "progress_url": reverse("admin:inventory_importjob_progress", args=[job.pk]),
                "problems": job.error_report if isinstance(job.error_report, list) else [],
                "problems_truncated": len(job.error_report or []) >= imports.MAX_PROBLEMS,
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def has_retry_permission(self, request, object_id=None):
        if object_id is None:
            return False
        job = self.get_object(request, unquote(str(object_id)))
        wanted = IMPORT_PERMISSIONS.get(job.resource) if job is not None else None
        return bool(wanted) and request.user.has_perms(wanted)

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        job = self.get_object(request, unquote(str(object_id)))
        retryable = (
            job is not None
            and (job.status == ImportJob.Status.FAILED or imports.import_job_is_stale(job))
            and bool(job.file)
        )
        return [a for a in actions if retryable or a.action_name != "inventory_importjob_retry"]

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
        retried = self.run_service(request, lambda: imports.import_job_retry(job=job, user=request.user))
        if retried is not REFUSED:
            self.message_user(request, f"{job.file_name} is queued again.", messages.SUCCESS)
        return redirect_from_dialog(request, reverse("admin:inventory_importjob_change", args=[job.pk]))
