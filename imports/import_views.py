"""The Import button of an admin: upload -> preview (a dry run of the engine over the whole file) ->
confirm, for any registered resource.

The upload waits for its confirmation in the private storage under a name the server chose; the
confirm form carries a token signed for that upload, that person and that shop, never a file name
(``imports.uploads``), and a confirmation can't be replayed. On confirm the file goes to an ImportJob:
imported in the request when small, by a worker past ``settings.IMPORT_BACKGROUND_ROWS`` rows or while
another import into the shop runs (the job's page shows its progress).
"""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from approvals.gate import approval_needed
from audit.history_admin import message_with_change_set
from core.admin_base import held_message
from core.exceptions import DomainError
from core.tenancy import current_tenant

from .approval import import_job_hold, import_measure
from .engine import run_import
from .files import count_rows, local_file
from .forms import ImportConfirmForm, ImportUploadForm
from .jobs import import_job_create, import_job_start
from .readers import ImportFileError, detect_format, open_table
from .registry import new_spec, spec_class
from .uploads import (
    UploadRefused,
    pending_forget,
    pending_path,
    pending_save,
    pending_take,
    pending_token,
    private_storage,
)

PREVIEW_ROWS = 500  # rows the preview lists (the counts cover the whole file)


class ImportAdminMixin:
    """Put it first: ``class ProductAdmin(ImportAdminMixin, ExportAdminMixin, HistoryAdmin)``, with
    ``import_resource`` naming the registered resource."""

    import_resource = ""
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="{}_{}_import".format(*info)),
            path(
                "process_import/",
                self.admin_site.admin_view(self.import_confirm_view),
                name="{}_{}_process_import".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_import_permission(self, request) -> bool:
        wanted = spec_class(self.import_resource).permissions
        return bool(wanted) and request.user.has_perms(wanted)

    def changelist_view(self, request, extra_context=None):
        extra = {"has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    # -- upload and preview --
    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        spec = spec_class(self.import_resource)
        form = ImportUploadForm(request.POST or None, request.FILES or None)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import {spec.label.lower()}",
            "opts": self.opts,
            "form": form,
            "spec": spec,
        }
        if request.method == "POST" and form.is_valid():
            context.update(self._preview(request, form))
        return TemplateResponse(request, "admin/imports/import.html", context)

    def _preview(self, request, form) -> dict:
        upload = form.cleaned_data["import_file"]
        file_name = Path(upload.name).name
        try:
            file_format = detect_format(file_name, form.cleaned_data["format"] or None)
        except ImportFileError as error:
            form.add_error("import_file", str(error))
            return {}
        stored = pending_save(upload)
        try:
            with local_file(pending_path(stored), private_storage()) as local:
                report = run_import(
                    new_spec(self.import_resource),
                    table=open_table(local, file_format),
                    file_name=file_name,
                    user=request.user,
                    dry_run=True,
                    preview_limit=PREVIEW_ROWS,
                )
            if not report.rows_total:
                raise ImportFileError("The file has no rows under its header: there is nothing to import.")
        except ImportFileError as error:
            pending_forget(stored)
            form.add_error("import_file", str(error))
            return {}
        if report.invalid:
            pending_forget(stored)
            return {"report": report}
        token = pending_token(
            stored, user=request.user, tenant=current_tenant(), file_name=file_name, format=file_format
        )
        return {
            "report": report,
            "confirm_form": ImportConfirmForm(initial={"upload": token}),
            "approval": approval_needed([import_measure(report.rows_total)]),
        }

    # -- confirm --
    @method_decorator(require_POST)
    def import_confirm_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        import_page = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        form = ImportConfirmForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "The import's confirmation was incomplete: upload the file again.")
            return HttpResponseRedirect(import_page)
        try:
            content, upload = pending_take(
                form.cleaned_data["upload"], user=request.user, tenant=current_tenant()
            )
        except UploadRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(import_page)
        job = import_job_create(
            resource=self.import_resource,
            file_name=upload["file_name"],
            content=content,
            file_format=upload["format"],
            user=request.user,
        )
        return self._run_job(request, job, why=form.cleaned_data["why"])

    def _run_job(self, request, job, *, why: str = ""):
        job_url = reverse("admin:imports_importjob_change", args=[job.pk])
        try:
            rows = count_rows(job)
            held = import_job_hold(job=job, rows=rows, why=why)
        except (ImportFileError, DomainError) as error:
            job.file.delete(save=False)
            job.delete()
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self._changelist_url())
        if held is not None:
            self.message_user(request, held_message(held), messages.INFO)
            return HttpResponseRedirect(job_url)
        job, report = import_job_start(job, rows=rows)
        if report is None and job.status != job.Status.FAILED:
            if rows > settings.IMPORT_BACKGROUND_ROWS:
                text = format_html(
                    "{} rows are more than {} are imported in the request: a worker imports them in the "
                    'background. <a href="{}" class="underline">Follow its progress</a>',
                    rows,
                    settings.IMPORT_BACKGROUND_ROWS,
                    job_url,
                )
            else:
                text = format_html(
                    "Another import into this shop is running: a worker imports {} when it has finished "
                    "(imports of one shop take turns). "
                    '<a href="{}" class="underline">Follow its progress</a>',
                    job.file_name,
                    job_url,
                )
            self.message_user(request, text, messages.INFO)
            return HttpResponseRedirect(job_url)
        if job.status != job.Status.DONE:
            self.message_user(
                request,
                format_html(
                    'Nothing more was imported: {} <a href="{}" class="underline">See the import</a>',
                    job.error_message,
                    job_url,
                ),
                messages.ERROR,
            )
            return HttpResponseRedirect(job_url)
        text = (
            f"Imported {job.file_name}: {job.created_count} new, {job.updated_count} changed, "
            f"{job.skipped_count} unchanged."
        )
        self.message_user(request, message_with_change_set(text, report.change_set), messages.SUCCESS)
        return HttpResponseRedirect(self._changelist_url())

    def _changelist_url(self):
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist", current_app=self.admin_site.name
        )
