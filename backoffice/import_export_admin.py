"""Import and export buttons for the back office's admins, on django-import-export and Unfold's forms.

The library does the formats, the export (honouring the list's filters and search) and the import's
upload -> preview (dry run) -> confirm pages. What this adds:

- the formats are CSV, XLSX and JSON, with formula escaping that covers ``= + - @`` (``backoffice.formats``);
- export needs the view permission; import the permissions the admin names (``import_permissions``);
- the upload waits for its confirmation in the private storage under a name the server chose; the
  confirmation form carries a token signed for this user and shop, never a file name
  (``backoffice.uploads``);
- the confirm step keeps the file on an ``ImportJob``: small files are imported in the request, files
  over ``settings.IMPORT_BACKGROUND_ROWS`` rows by a Celery worker, and the job's page shows progress;
- the audit log and history record every imported row, so the admin's LogEntry per row is skipped.
"""

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from unfold.contrib.import_export.forms import ImportForm, SelectableFieldsExportForm

from .admin_base import message_with_change_set
from .exceptions import DomainError
from .formats import FORMATS, NATIVE_TYPE_FORMATS
from .tenancy import current_tenant
from .uploads import PendingUploadStorage, UploadRefused, pending_take, pending_token


class BackofficeImportExportMixin(ImportExportMixin):
    """Put it before the admin's base: ``class ProductAdmin(BackofficeImportExportMixin, HistoryAdmin)``."""

    formats = FORMATS
    tmp_storage_class = PendingUploadStorage
    import_form_class = ImportForm
    export_form_class = SelectableFieldsExportForm
    skip_admin_log = True
    # Permissions (``app.codename``) an import needs; none means the admin has no import.
    import_permissions: tuple[str, ...] = ()
    # ImportJob.Resource of this admin's imports; None imports in the request with the library alone.
    import_job_resource: str | None = None

    def has_import_permission(self, request):
        return bool(self.import_permissions) and request.user.has_perms(self.import_permissions)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_data(self, file_format, request, queryset, **kwargs):
        # The library only keeps numbers as numbers for its own XLSX class, not for subclasses.
        if not self.has_export_permission(request):
            raise PermissionDenied
        data = self.get_data_for_export(
            request, queryset, force_native_type=isinstance(file_format, NATIVE_TYPE_FORMATS), **kwargs
        )
        export_data = file_format.export_data(data)
        encoding = kwargs.get("encoding")
        if not file_format.is_binary() and encoding:
            export_data = export_data.encode(encoding)
        return export_data

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # A filter the list doesn't have (an edited link): as the list itself does, start over.
            return HttpResponseRedirect(f"{self._changelist_url()}?e=1")

    def add_data_read_fail_error_to_form(self, form, error):
        if isinstance(error, DomainError):  # what backoffice.tables says about a file it can't read
            form.add_error("import_file", str(error))
            return
        if isinstance(error, UnicodeDecodeError):
            form.add_error(
                "import_file",
                "The file is not UTF-8 text: save it as “CSV UTF-8” (or as .xlsx) and upload it again.",
            )
            return
        super().add_data_read_fail_error_to_form(form, error)

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            # The browser gets a token for the upload, signed for this user and shop (with the name
            # and format the preview read it as): not the name of a file.
            initial["import_file_name"] = pending_token(
                initial["import_file_name"],
                user=request.user,
                tenant=current_tenant(),
                file_name=Path(str(initial["original_file_name"])).name,
                format=str(initial["format"]),
            )
        return initial

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """The confirmed import: kept on an ImportJob, run now or by a worker (big files)."""
        if self.import_job_resource is None or not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            self.message_user(request, "The import's confirmation was incomplete: upload the file again.")
            return HttpResponseRedirect(self._import_url())
        try:
            content, upload = pending_take(
                confirm_form.cleaned_data["import_file_name"], user=request.user, tenant=current_tenant()
            )
        except UploadRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self._import_url())

        from inventory import imports

        input_format = self.get_import_formats()[int(upload["format"])]()
        job = imports.import_job_create(
            resource=self.import_job_resource,
            file_name=upload["file_name"] or "import",
            content=content,
            file_format=input_format.get_extension(),
            user=request.user,
        )
        job_url = reverse("admin:inventory_importjob_change", args=[job.pk])
        try:
            rows = imports.count_rows(job)
        except imports.ImportFileError as error:
            job.file.delete(save=False)
            job.delete()
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(self._changelist_url())
        job, report = imports.import_job_start(job, rows=rows)
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

    def _import_url(self):
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_import", current_app=self.admin_site.name
        )

    def _changelist_url(self):
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist", current_app=self.admin_site.name
        )
