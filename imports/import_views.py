"""The Import button of an admin, for any registered resource: upload -> map the file's columns ->
preview (a dry run of the engine over the whole file) -> confirm; and the resource's template file.

- **Upload**: the file waits in the private storage under a name the server chose; the browser holds
  a token signed for that upload, that person and that shop (``imports.uploads``), never a file name.
- **Map**: how the file was read (encoding, delimiter: detected, changeable) and where each of its
  columns goes, every guess shown with its reason and editable (``imports.import_steps``); the mapping
  may be saved under a name. When every guess is certain (the file's own names, a saved mapping made
  for it, a known export), the preview is shown with it at once.
- **Preview**: new, changed, unchanged, skipped and invalid rows, ignored columns, categories to create.
- **Confirm**: the token now also carries the mapping and options the preview used, signed, and can't
  be replayed. The file goes to an ImportJob: imported in the request when small, by a worker past
  ``settings.IMPORT_BACKGROUND_ROWS`` rows or while another import into the shop runs.
"""

from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from approvals.gate import approval_needed
from core.admin_base import held_message
from core.exceptions import DomainError
from core.tenancy import current_tenant

from .approval import import_job_hold, import_measure
from .files import count_rows
from .filters import ImportedByFilter
from .forms import DELIMITER_CHOICES, ENCODING_CHOICES, ImportConfirmForm, ImportMappingForm, ImportUploadForm
from .forms import start_choices as start_from_choices
from .import_steps import MappingStep, columns_key, confirmable, mapping_step, pending_table, preview
from .job_messages import job_outcome_message
from .jobs import import_job_create, import_job_start
from .mapping import problems
from .presets import presets_for
from .readers import ImportFileError, Table, detect_format
from .registry import spec_class
from .saved_mappings import MappingRefused, import_mapping_save, import_mappings_for
from .sources import ImportOptions
from .template_files import template_csv, template_xlsx
from .uploads import UploadRefused, pending_claims, pending_forget, pending_save, pending_take, pending_token

TEMPLATES = {
    "csv": (template_csv, "text/csv; charset=utf-8"),
    "xlsx": (template_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


class ImportAdminMixin:
    """Put it first: ``class ProductAdmin(ImportAdminMixin, ExportAdminMixin, HistoryAdmin)``, with
    ``import_resource`` naming the registered resource."""

    import_resource = ""
    import_export_change_list_template = "admin/import_export/change_list_import_export.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="{}_{}_import".format(*info)),
            path("import/map/", view(self.import_map_view), name="{}_{}_import_map".format(*info)),
            path(
                "import/template.<str:file_format>",
                view(self.import_template_view),
                name="{}_{}_import_template".format(*info),
            ),
            path(
                "process_import/", view(self.import_confirm_view), name="{}_{}_process_import".format(*info)
            ),
            *super().get_urls(),
        ]

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        # The records an import wrote: what its job page links to (only then, so lists stay as fast).
        return [*filters, ImportedByFilter] if ImportedByFilter.parameter_name in request.GET else filters

    def has_import_permission(self, request) -> bool:
        wanted = spec_class(self.import_resource).permissions
        return bool(wanted) and request.user.has_perms(wanted)

    def changelist_view(self, request, extra_context=None):
        extra = {"has_import_permission": self.has_import_permission(request)}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def _import_spec(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        return spec_class(self.import_resource)

    def _import_page(self, request, spec, **context):
        info = self.opts.app_label, self.opts.model_name
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import {spec.label.lower()}",
            "opts": self.opts,
            "spec": spec,
            "presets": presets_for(spec.name),
            "template_urls": {
                kind: reverse("admin:{}_{}_import_template".format(*info), args=[kind]) for kind in TEMPLATES
            },
            **context,
        }
        return TemplateResponse(request, "admin/imports/import.html", context)

    # -- upload --
    def import_view(self, request):
        spec = self._import_spec(request)
        saved = list(import_mappings_for(spec.name))
        form = ImportUploadForm(
            request.POST or None, request.FILES or None, start_from=start_from_choices(spec.name, saved)
        )
        if request.method == "POST" and form.is_valid():
            shown = self._uploaded(request, spec, form, saved)
            if shown is not None:
                return shown
        return self._import_page(request, spec, upload_form=form)

    def _uploaded(self, request, spec, form, saved):
        upload = form.cleaned_data["import_file"]
        file_name = Path(upload.name).name
        try:
            file_format = detect_format(file_name, form.cleaned_data["format"] or None)
        except ImportFileError as error:
            form.add_error("import_file", str(error))
            return None
        stored = pending_save(upload)
        claims = {"name": stored, "file_name": file_name, "format": file_format}
        try:
            table, first_rows = pending_table(claims)
        except ImportFileError as error:
            pending_forget(stored)
            form.add_error("import_file", str(error))
            return None
        step = mapping_step(
            spec, table, first_rows, start=form.cleaned_data["start_from"], saved_mappings=saved
        )
        claims["token"] = pending_token(
            stored,
            user=request.user,
            tenant=current_tenant(),
            step="map",
            file_name=file_name,
            format=file_format,
        )
        return self._mapping_page(request, spec, claims, step, saved)

    # -- the mapping step --
    @method_decorator(require_POST)
    def import_map_view(self, request):
        spec = self._import_spec(request)
        saved = list(import_mappings_for(spec.name))
        data = request.POST
        try:
            claims = pending_claims(
                data.get("upload"), user=request.user, tenant=current_tenant(), step="map"
            )
        except UploadRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import"))
        claims["token"] = data.get("upload")
        reading = {
            "encoding": _choice(data.get("encoding"), ENCODING_CHOICES),
            "delimiter": _choice(data.get("delimiter"), DELIMITER_CHOICES),
        }
        try:
            table, first_rows = pending_table(claims, **reading)
        except ImportFileError as error:
            step = MappingStep(Table(headers=[], open_rows=lambda: iter(()), encoding="?"), [])
            return self._mapping_page(request, spec, claims, step, saved, reading=reading, error=str(error))
        start = data.get("start_from", "")
        step = mapping_step(spec, table, first_rows, start=start, saved_mappings=saved)
        # Another starting point, or columns that changed with another reading: guess again.
        fresh = data.get("columns_key") != columns_key(table.headers) or start != data.get("started_from", "")
        if fresh:
            return self._mapping_page(request, spec, claims, step, saved, reading=reading)
        return self._mapping_page(request, spec, claims, step, saved, reading=reading, posted=data)

    def _mapping_page(self, request, spec, claims, step, saved, *, reading=None, posted=None, error=""):
        """The mapping step of the upload ``claims`` names, with the preview when the mapping is
        complete and was either posted or is certain."""
        reading = reading or {"encoding": "", "delimiter": ""}
        remembered = step.saved.create_missing if step.saved is not None else bool(step.preset)
        initial = {
            "upload": claims["token"],
            "columns_key": columns_key(step.headers),
            "start_from": step.start,
            "create_missing": remembered,
            **reading,
            **{f"column_{item.index}": item.target for item in step.guesses},
        }
        form = ImportMappingForm(
            posted,
            initial=initial,
            spec=spec,
            headers=step.headers,
            start_from=start_from_choices(spec.name, saved),
            text_file=claims["format"] == "csv",
        )
        guessed = [item.target for item in step.guesses]
        chosen = form.targets() if posted is not None and form.is_valid() else guessed
        context = {
            "mapping": step,
            "mapping_form": form,
            "mapped_count": sum(1 for target in chosen if target),
            "ignored_count": sum(1 for target in chosen if not target),
            "mapping_rows": list(zip(form.column_fields(), step.guesses, step.samples, strict=True)),
            "file_name": claims["file_name"],
            "file_format": claims["format"],
            "import_error": error,
        }
        if error:
            return self._import_page(request, spec, **context)
        if posted is None:
            targets = [item.target for item in step.guesses]
            options = _options(step, targets, reading, create_missing=remembered, skip_invalid=False)
            if not step.certain or problems(spec, step.headers, targets):
                return self._import_page(
                    request, spec, mapping_problems=problems(spec, step.headers, targets), **context
                )
            previewed = self._previewed(request, spec, claims, options)
            return self._import_page(request, spec, mapping_folded=True, **context, **previewed)
        if not form.is_valid():
            return self._import_page(request, spec, **context)
        targets = form.targets()
        found = problems(spec, step.headers, targets)
        if found:
            return self._import_page(request, spec, mapping_problems=found, **context)
        options = _options(
            step,
            targets,
            reading,
            create_missing=form.cleaned_data.get("create_missing", False),
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
        if form.cleaned_data["save_as"]:
            options.mapping_name = self._save_mapping(request, spec, form, step, options)
        return self._import_page(request, spec, **context, **self._previewed(request, spec, claims, options))

    def _save_mapping(self, request, spec, form, step, options) -> str:
        try:
            mapping, created = import_mapping_save(
                resource=spec.name,
                name=form.cleaned_data["save_as"],
                headers=step.headers,
                targets=options.targets,
                preset=options.preset,
                create_missing=options.create_missing,
                user=request.user,
            )
        except MappingRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return options.mapping_name
        self.message_user(
            request,
            f"Mapping “{mapping.name}” {'saved' if created else 'replaced'}: choose it under “Columns” when "
            "you import the next file of this kind.",
            messages.SUCCESS,
        )
        return mapping.name

    def _previewed(self, request, spec, claims, options: ImportOptions) -> dict:
        try:
            report, raw = preview(spec.name, claims, options, user=request.user)
        except ImportFileError as error:
            return {"import_error": str(error)}
        context = {"report": report, "reading": raw.reading(), "options": options}
        if confirmable(report, options):
            token = pending_token(
                claims["name"],
                user=request.user,
                tenant=current_tenant(),
                step="confirm",
                file_name=claims["file_name"],
                format=claims["format"],
                options=options.as_json(),
            )
            context["confirm_form"] = ImportConfirmForm(initial={"upload": token})
            context["approval"] = approval_needed([import_measure(report.rows_total)])
        return context

    # -- confirm --
    @method_decorator(require_POST)
    def import_confirm_view(self, request):
        spec = self._import_spec(request)
        import_page = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        form = ImportConfirmForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "The import's confirmation was incomplete: upload the file again.")
            return HttpResponseRedirect(import_page)
        try:
            content, upload = pending_take(
                form.cleaned_data["upload"], user=request.user, tenant=current_tenant(), step="confirm"
            )
        except UploadRefused as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(import_page)
        job = import_job_create(
            resource=spec.name,
            file_name=upload["file_name"],
            content=content,
            file_format=upload["format"],
            user=request.user,
            options=upload.get("options") or {},
        )
        return self._run_job(request, job, import_page, why=form.cleaned_data["why"])

    def _run_job(self, request, job, import_page, *, why: str = ""):
        try:
            rows = count_rows(job)
            held = import_job_hold(job=job, rows=rows, why=why)
        except (ImportFileError, DomainError) as error:
            job.file.delete(save=False)
            job.delete()
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(import_page)
        if held is not None:
            self.message_user(request, held_message(held), messages.INFO)
            return HttpResponseRedirect(reverse("admin:imports_importjob_change", args=[job.pk]))
        job, report = import_job_start(job, rows=rows)
        text, level, to_job = job_outcome_message(job, report)
        self.message_user(request, text, level)
        if to_job:
            return HttpResponseRedirect(reverse("admin:imports_importjob_change", args=[job.pk]))
        return HttpResponseRedirect(
            reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist",
                current_app=self.admin_site.name,
            )
        )

    # -- the template file --
    def import_template_view(self, request, file_format):
        spec = self._import_spec(request)
        if file_format not in TEMPLATES:
            raise Http404("Templates are CSV or XLSX files.")
        build, content_type = TEMPLATES[file_format]
        return HttpResponse(
            build(spec()),
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{spec.name}-template.{file_format}"'},
        )


def _choice(value, choices) -> str:
    return value if value in {key for key, _ in choices} else ""


def _options(step: MappingStep, targets, reading: dict, *, create_missing, skip_invalid) -> ImportOptions:
    return ImportOptions(
        encoding=reading.get("encoding", ""),
        delimiter=reading.get("delimiter", ""),
        preset=step.preset.name if step.preset is not None else "",
        headers=list(step.headers),
        targets=list(targets),
        mapping_name=step.saved.name if step.saved is not None else "",
        create_missing=bool(create_missing),
        skip_invalid=bool(skip_invalid),
    )
