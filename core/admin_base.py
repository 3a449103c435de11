"""What every admin of the back office shares: Unfold's look, fast lists, refusals as messages, read-only
lists and streamed CSV exports. History (versions, reverts, "as of") is added by ``audit.history_admin``."""

from functools import cache

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from unfold.admin import ModelAdmin, TabularInline
from unfold.admin import checkbox as unfold_checkbox
from unfold.decorators import display

from .action_form import ActionForm
from .changelist import FastChangeList, FilterPanelChangeList
from .exceptions import DomainError
from .exports import streaming_csv
from .pagination import COUNT_VAR, EstimatedCountPaginator
from .registry import record_panels

REFUSED = object()  # what BaseAdmin.run_service returns when the service refused


def redirect_from_dialog(request, url: str) -> HttpResponse:
    """Leave an Unfold action dialog (posted by htmx) for ``url`` as a full page load."""
    if request.headers.get("HX-Request"):
        return HttpResponse(headers={"HX-Redirect": url})
    return HttpResponseRedirect(url)


def action_confirmation(
    model_admin,
    request,
    *,
    title: str,
    effects: str,
    refusals=(),
    submit: str = "Confirm",
    approval: str | None = None,
) -> TemplateResponse | None:
    """The page a list action shows before it writes: what it will do (``effects``), then Confirm
    (posted again with the CSRF token and the same selection) or Cancel. Returns None once the
    person confirmed: the action then runs. With ``refusals`` (why some selected rows can't take
    part) it offers no Confirm: the action is all or nothing. With ``approval`` (why the change will
    wait for another person's approval) it asks why, posted as ``why``."""
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
            "approval": approval,
            "action": request.POST.get("action", ""),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def is_held(result) -> bool:
    """Whether a service answered with a held change (see ``held_message``) instead of its result."""
    return hasattr(result, "held_text")


def held_message(held):
    """What a person is told when a service held their change instead of making it (a change request
    waiting for approval): the held record's own sentence (``held_text()``), linked to its page
    (``get_admin_url()``)."""
    return format_html(
        '{} <a href="{}" class="underline">See the request</a>', held.held_text(), held.get_admin_url()
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
    # Unfold's action bar, its select and hidden field rendered once per set of actions.
    action_form = ActionForm

    @display(description=ModelAdmin.action_checkbox.short_description)
    def action_checkbox(self, obj):
        # Unfold renders this checkbox through the template engine on every row (1.5 ms each, a
        # sixth of a 50-row page): render it once, then put each row's key in (escaped).
        before, after = _row_checkbox()
        return format_html("{}{}{}", before, str(obj.pk), after)

    def changelist_view(self, request, extra_context=None):
        # Unfold's layout reads both on every page; a list has neither (three failed look-ups a page).
        context = {"is_fullwidth": "", "inline_admin_formsets": [], **(extra_context or {})}
        return super().changelist_view(request, context)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        # "?count=exact": the person asked for the exact count of a big match (a link on the list).
        return self.paginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            exact=request.GET.get(COUNT_VAR) == "exact",
        )

    def get_changelist(self, request, **kwargs):
        # Keyset "Next page" links, deep pages by an index-only seek, a date hierarchy without scans.
        if request.resolver_match and request.resolver_match.url_name == self._filter_panel_url_name():
            return FilterPanelChangeList
        return FastChangeList

    # The list's filter panel is fetched when it is first shown (templates/admin/filter_panel.html):
    # its form widgets (radio buttons, dates, drop-downs) cost a list page about 60 template renders.
    lazy_filter_panel = True

    def _filter_panel_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_filter_panel"

    def get_urls(self):
        panel = path(
            "filters/",
            self.admin_site.admin_view(self.filter_panel_view),
            name=self._filter_panel_url_name(),
        )
        return [panel, *super().get_urls()]

    def filter_panel_view(self, request):
        """The filter panel's contents for the list at the same query string (a GET that only reads)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponse("These filters don't apply to this list.", status=400)
        context = {**self.admin_site.each_context(request), "cl": changelist, "opts": self.opts}
        return TemplateResponse(request, "admin/filter_panel.html", context)

    # Set on subclasses: a function(obj) -> str | None naming what forbids deleting obj.
    delete_blocker = None
    # Above the form: what the apps registered for a record's page (``core.registry.RecordPanel``).
    change_form_outer_before_template = "admin/record_panels.html"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context["record_panels"] = record_panels(request, obj)
        if self.is_final(obj):
            context.update(show_save=False, show_save_and_continue=False, show_save_and_add_another=False)
        return super().render_change_form(request, context, add, change, form_url, obj)

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

    # Set on subclasses: a function(obj) -> bool, true when the record's state allows no more change
    # (a refunded order): its page is then read-only, without Save buttons, and a save is refused.
    final_state = None

    def is_final(self, obj) -> bool:
        return obj is not None and self.final_state is not None and type(self).final_state(obj)

    def get_readonly_fields(self, request, obj=None):
        if self.is_final(obj):
            return flatten_fieldsets(self.get_fieldsets(request, obj))
        return super().get_readonly_fields(request, obj)

    def final_state_refusal(self, request, object_id) -> HttpResponse | None:
        """For a POST to the page of a record in a final state: the page again, saying nothing was saved."""
        if request.method == "POST" and object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            if self.is_final(obj):
                self.message_user(request, f"Nothing was saved: {obj} can't change any more.", messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        return None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if refusal := self.final_state_refusal(request, object_id):
            return refusal
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            # A service refused while saving (e.g. stock sold meanwhile): its transaction was rolled back.
            self.message_user(request, f"Nothing was saved: {error}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, f"Nothing was deleted: {error}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def run_service(self, request, call):
        """Call a service; a refused operation becomes an error message (nothing was written) and
        ``REFUSED`` is returned instead of the service's result."""
        try:
            return call()
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
            return REFUSED


class LabelledTabularInline(TabularInline):
    """Unfold's tabular inline, whose inputs show no label of their own (the column heading is the
    label people see): each gets its field's label for screen readers."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        for field in formset.form.base_fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))
        return formset


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
