"""What every admin of the back office shares: Unfold's look, history, reasons, and fast lists."""

from functools import cache

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import model_ngettext, unquote
from django.core.exceptions import PermissionDenied
from django.forms import JSONField
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.admin import checkbox as unfold_checkbox
from unfold.decorators import action, display

from audit.selectors import field_text, record_as_of
from audit.services import record_revert
from backoffice.changelist import FastChangeList
from backoffice.exceptions import DomainError
from backoffice.exports import streaming_csv
from backoffice.pagination import EstimatedCountPaginator
from backoffice.tenancy import current_tenant, is_tenant_scoped

REFUSED = object()  # what BaseAdmin.run_service returns when the service refused


def message_with_change_set(text: str, change_set):
    """A success message with a link to the change set it made (to inspect or undo it)."""
    if change_set is None:
        return text
    url = reverse("admin:audit_changeset_change", args=[change_set.pk])
    return format_html('{} <a href="{}" class="underline">See or undo this change</a>', text, url)


def redirect_from_dialog(request, url: str) -> HttpResponse:
    """Leave an Unfold action dialog (posted by htmx) for ``url`` as a full page load."""
    if request.headers.get("HX-Request"):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def action_confirmation(
    model_admin, request, *, title: str, effects: str, refusals=(), submit: str = "Confirm"
) -> TemplateResponse | None:
    """The page a list action shows before it writes: what it will do (``effects``), then Confirm
    (posted again with the CSRF token and the same selection) or Cancel. Returns None once the
    person confirmed: the action then runs. With ``refusals`` (why some selected rows can't take
    part) it offers no Confirm: the action is all or nothing."""
    if request.method == "POST" and request.POST.get("confirm") == "yes" and not refusals:
        return None
    return TemplateResponse(
        request,
        "admin/confirm_action.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.opts,
            "effects": effects,
            "refusals": list(refusals),
            "submit_label": submit,
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


@cache
def _row_checkbox() -> tuple[SafeString, SafeString]:
    """Unfold's row checkbox as rendered, split where the row's key goes."""
    html = unfold_checkbox.render(helpers.ACTION_CHECKBOX_NAME, _KEY)
    before, after = html.split(_KEY)
    return mark_safe(before), mark_safe(after)  # noqa: S308 - the widget's own HTML, no data


_KEY = "__row_key__"


class BaseAdmin(ModelAdmin):
    # Lists at a million rows: no second COUNT(*) for "N total", and an estimated count (from the
    # planner's statistics) for unfiltered lists on PostgreSQL.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    list_filter_submit = True
    warn_unsaved_form = True
    # Unfold's list template looks this up twice per row; when it's missing, every failed lookup
    # costs Django's template engine a dir() of the admin (about 30 ms on a 50-row page).
    list_sections = []

    @display(description=ModelAdmin.action_checkbox.short_description)
    def action_checkbox(self, obj):
        # Unfold renders this checkbox through the template engine on every row (1.5 ms each, a
        # sixth of a 50-row page): render it once, then put each row's key in (escaped).
        before, after = _row_checkbox()
        return format_html("{}{}{}", before, str(obj.pk), after)

    def get_changelist(self, request, **kwargs):
        # Keyset "Next page" links, deep pages by an index-only seek, a date hierarchy without scans.
        return FastChangeList

    # Set on subclasses: a function(obj) -> str | None naming what forbids deleting obj.
    delete_blocker = None

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another shop's id (or a deleted record) in a URL is a plain 404, saying nothing about it.
        raise Http404(f"No {opts.verbose_name} with this id.")

    def get_deleted_objects(self, objs, request):
        """Refuse early, with one clear sentence, instead of listing every protected row."""
        if self.delete_blocker is not None:
            blockers = [reason for obj in objs if (reason := type(self).delete_blocker(obj))]
            if blockers:
                return [], {}, set(), blockers
        return super().get_deleted_objects(objs, request)

    def message_changed(self, request, change_set, selected: int, verb: str):
        """'3 products published (1 already was). See or undo this change.': what an action did."""
        changed = change_set.row_count if change_set else 0
        unchanged = selected - changed
        text = f"{changed} {model_ngettext(self.opts, changed)} {verb}"
        if unchanged:
            text += f" ({unchanged} already {'was' if unchanged == 1 else 'were'})"
        self.message_user(
            request,
            message_with_change_set(text + ".", change_set),
            messages.SUCCESS if changed else messages.INFO,
        )

    def run_service(self, request, call):
        """Call a service; a refused operation becomes an error message (nothing was written) and
        ``REFUSED`` is returned instead of the service's result."""
        try:
            return call()
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
            return REFUSED


def parse_local_datetime(value: str | None):
    """'2026-11-25T10:30' from a datetime-local input, in the site's time zone; None if absent/bad."""
    parsed = parse_datetime(value) if value else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def really_changed(form) -> list[str]:
    # A JSON field reports a change when its text is re-posted unchanged; compare the values.
    return [
        name
        for name in form.changed_data
        if not (
            isinstance(form.fields[name], JSONField) and form.initial.get(name) == form.cleaned_data.get(name)
        )
    ]


class HistoryAdmin(SimpleHistoryAdmin, BaseAdmin):
    """An admin whose edits are written to history with a reason naming what changed."""

    history_list_per_page = 50

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # History tables aren't filtered by a manager: keep the open shop's rows only (an id of
        # another shop's record, live or deleted, shows nothing).
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return queryset.filter(tenant_id=current_tenant().pk) if is_tenant_scoped(self.model) else queryset

    def revert_disabled(self, request, obj=None):
        if getattr(self.model, "revert_refusal", None):
            return True
        return not self.has_change_permission(request, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """GET: the old version (simple-history's page, with a reason box). POST: revert through
        ``audit.services.record_revert``, which refuses what would break stock or money."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:  # only the open shop's records have versions to see
            raise Http404
        if request.method != "POST":
            return super().history_form_view(request, object_id, version_id, extra_context)
        if self.revert_disabled(request, obj):
            raise PermissionDenied
        reverted = self.run_service(
            request,
            lambda: record_revert(
                model=self.model,
                object_id=obj.pk,
                history_id=version_id,
                user=request.user,
                reason=request.POST.get("revert_reason", ""),
            ),
        )
        if reverted is REFUSED:
            return HttpResponseRedirect(request.get_full_path())
        self.message_user(
            request, f"{reverted} was reverted; the revert is in its history.", messages.SUCCESS
        )
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        )

    @action(description="As of…", url_path="as-of", icon="schedule", permissions=["view"])
    def as_of(self, request, object_id):
        """The record (and, for an order, its lines) as it was at a chosen date and time."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        when = parse_local_datetime(request.GET.get("when")) or timezone.now()
        then = record_as_of(self.model, obj.pk, when)
        fields = [
            field
            for field in self.model._meta.concrete_fields
            if not field.primary_key and field.name not in getattr(self, "as_of_hidden", ())
        ]
        rows = [
            (
                field.verbose_name.capitalize(),
                field_text(then, field) if then is not None else "",
                field_text(obj, field),
            )
            for field in fields
        ]
        return TemplateResponse(
            request,
            "admin/as_of.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{obj} as of {timezone.localtime(when):%Y-%m-%d %H:%M}",
                "opts": self.opts,
                "original": obj,
                "when": timezone.localtime(when),
                "existed": then is not None,
                "rows": rows,
                "related": self.as_of_related(obj, when),
            },
        )

    def as_of_related(self, obj, when):
        """Extra tables for the as-of page (e.g. an order's lines): a list of (title, headers, rows)."""
        return []

    def save_model(self, request, obj, form, change):
        if change:
            fields = ", ".join(really_changed(form)) or "no field"
            obj._change_reason = f"Edited in the admin ({fields})"
        else:
            obj._change_reason = "Created in the admin"
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        obj._change_reason = "Deleted in the admin"
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # One by one, so each deleted row gets its history row and reason.
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyPermissions:
    """No adding, changing or deleting here, whoever asks (superusers included): admins and inlines
    that only show records which change elsewhere (ledgers, logs, an order's lines on the list)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, BaseAdmin):
    """Lists that nobody edits (ledgers, logs): view only, for everyone, superusers included."""

    def save_model(self, request, obj, form, change):
        raise PermissionDenied


class CsvExportMixin:
    """An "Export CSV" button on the list that streams exactly the rows the list shows (filters and
    search included), for tables too big to export in memory. Subclasses set ``csv_columns``:
    a list of (header, function(obj) -> value)."""

    change_list_template = "admin/csv_export_change_list.html"
    csv_columns: list = []

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv_view),
            name="{}_{}_export_csv".format(*info),
        )
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "csv_export_url": reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_export_csv"),
        }
        return super().changelist_view(request, extra_context)

    def export_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            # A filter the list doesn't have (an edited link): as the list itself does, start over.
            changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{changelist}?e=1")
        return streaming_csv(
            filename=self.opts.model_name,
            header=[header for header, _ in self.csv_columns],
            rows=queryset.iterator(chunk_size=2000),
            row=lambda obj: [value(obj) for _, value in self.csv_columns],
        )
