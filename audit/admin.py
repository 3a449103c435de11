from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    ChoicesCheckboxFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action

from core.admin_base import REFUSED, CsvExportMixin, ReadOnlyAdmin, held_message
from core.cells import display
from core.filters import DayRangeFilter, StaffUserFilter

from .display import field_labels
from .history_admin import message_with_change_set
from .models import AuditEntry, ChangeSet
from .registry import log_filters, object_named_by, tracked_models, undo_notices
from .seal_status import sealed_expression, trail_status
from .selectors import admin_change_url, admin_history_url, entries_with_changes, entry_diff
from .undo import change_set_undo, change_set_undo_plan

ACTION_COLOURS = {
    AuditEntry.Action.CREATED: "success",
    AuditEntry.Action.CHANGED: "info",
    AuditEntry.Action.DELETED: "danger",
}


class ModelFilter(RelatedDropdownFilter):
    """The business models (those their apps track with ``audit.registry``), not every table."""

    def field_choices(self, field, request, model_admin):
        content_types = ContentType.objects.get_for_models(*tracked_models())
        return sorted(
            (content_type.pk, model._meta.verbose_name.capitalize())
            for model, content_type in content_types.items()
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "user",
        "model_name",
        "object_link",
        "action_badge",
        "reason",
        "changed",
        "seal_state",
    ]
    list_before_template = "admin/audit/auditentry/trail_banner.html"
    list_display_links = ["created_at"]
    list_display_phone = ["created_at", "action_badge"]  # what fits a phone (390 px)
    list_select_related = ["user", "content_type"]
    list_filter = [
        ("user", StaffUserFilter),
        ("content_type", ModelFilter),
        ("action", ChoicesCheckboxFilter),
        ("created_at", DayRangeFilter),
        ("change_set", AutocompleteSelectFilter),
    ]
    search_fields = ["object_repr"]
    search_help_text = "Words of the object's name (e.g. a product name, an order number)."
    ordering = ["-created_at", "-id"]
    readonly_fields = [
        "created_at",
        "user",
        "content_type",
        "object_link",
        "action",
        "reason",
        "change_set",
        "diff",
    ]
    fields = readonly_fields
    csv_columns = [
        ("when", lambda e: e.created_at.isoformat()),
        ("user", lambda e: e.user or ""),
        ("model", lambda e: e.content_type.model),
        ("object id", lambda e: e.object_id),
        ("object", lambda e: e.object_repr),
        ("type", lambda e: e.action),
        ("reason", lambda e: e.reason),
        ("changed fields", lambda e: " ".join(e.changed_fields)),
    ]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "trail": trail_status()})

    def get_list_filter(self, request):
        # Filters the apps add (approved by: ``approvals``) after the log's own.
        return [*super().get_list_filter(request), *log_filters()]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(is_sealed=sealed_expression())

    @display(description="Seal")
    def seal_state(self, obj):
        return "Sealed" if getattr(obj, "is_sealed", False) else "Not yet sealed"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        named = object_named_by(term) if term else None
        if named is not None:
            # A record's entries by its id on the object index (an order number "ORD-…" shares its
            # trigrams with every order's entries, which makes the trigram index read most of the log).
            model, object_id = named
            content_type = ContentType.objects.get_for_model(model)
            return queryset.filter(content_type=content_type, object_id=str(object_id)), False
        return (queryset.filter(object_repr__trigram_contains=term) if term else queryset), False

    @display(description="Model", ordering="content_type")
    def model_name(self, obj):
        model = obj.content_type.model_class()
        return model._meta.verbose_name.capitalize() if model else obj.content_type.model

    @display(description="Object")
    def object_link(self, obj):
        url = admin_change_url(obj.content_type, obj.object_id) if obj.action != "deleted" else None
        if url:
            return format_html('<a href="{}" class="text-link">{}</a>', url, obj.object_repr)
        return obj.object_repr

    @display(description="Type", ordering="action", label=ACTION_COLOURS)
    def action_badge(self, obj):
        return obj.action, obj.get_action_display()

    @display(description="Changed fields")
    def changed(self, obj):
        return ", ".join(field_labels(obj.content_type.model_class(), obj.changed_fields)) or "—"

    @display(description="What changed")
    def diff(self, obj):
        rows = entry_diff(obj)
        history = admin_history_url(obj.content_type, obj.object_id)
        table = format_html(
            '<table class="w-full"><thead><tr><th class="text-left pr-4">Field</th>'
            '<th class="text-left pr-4">Old value</th><th class="text-left">New value</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            format_html_join(
                "",
                '<tr class="border-t border-base-200"><td class="pr-4 font-semibold">{}</td>'
                '<td class="pr-4 text-red-700 dark:text-red-400">{}</td>'
                '<td class="text-green-700 dark:text-green-400">{}</td></tr>',
                rows,
            ),
        )
        if history:
            table = format_html(
                '{}<p class="mt-2"><a href="{}" class="text-link">All versions of this record</a></p>',
                table,
                history,
            )
        return table


# What undo does to each record, by what the change set first did to it.
UNDO_EFFECTS = {
    AuditEntry.Action.CREATED: "Deleted (this change set created it)",
    AuditEntry.Action.CHANGED: "Put back as it was before",
    AuditEntry.Action.DELETED: "Restored (this change set deleted it)",
}


def admin_change_url_for_model(model, pk) -> str | None:
    return admin_change_url(ContentType.objects.get_for_model(model), pk)


CHANGE_SET_COLOURS = {
    ChangeSet.Kind.BULK_ACTION: "info",
    ChangeSet.Kind.IMPORT: "primary",
    ChangeSet.Kind.REVERT: "warning",
    ChangeSet.Kind.UNDO: "danger",
    ChangeSet.Kind.APPROVED: "success",
}


@admin.register(ChangeSet)
class ChangeSetAdmin(ReadOnlyAdmin):
    """Every multi-row change as one unit: what it changed, field by field, and an Undo."""

    list_display = ["title", "kind_badge", "user", "row_count", "created_at", "undo_state"]
    list_display_phone = ["title", "kind_badge"]  # what fits a phone (390 px)
    list_select_related = ["user", "undoes"]
    list_filter = [("kind", ChoicesCheckboxFilter), ("created_at", DayRangeFilter)]
    search_fields = ["title"]
    ordering = ["-created_at", "-id"]
    readonly_fields = ["title", "kind", "user", "row_count", "created_at", "undoes", "audit_log_link"]
    fields = readonly_fields
    change_form_after_template = "admin/audit/changeset/records.html"
    actions_detail = ["undo"]
    records_per_page = 50

    @display(description="Kind", ordering="kind", label=CHANGE_SET_COLOURS)
    def kind_badge(self, obj):
        return obj.kind, obj.get_kind_display()

    @display(description="Undone")
    def undo_state(self, obj):
        return "Undone" if obj.undone_by.exists() else "—"

    @display(description="Audit log")
    def audit_log_link(self, obj):
        url = reverse("admin:audit_auditentry_changelist") + f"?change_set__id__exact={obj.pk}"
        return format_html('<a href="{}" class="text-link">Its entries in the audit log</a>', url)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("undone_by")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        change_set = self.get_object(request, unquote(object_id))
        extra = {}
        if change_set is not None:
            entries = (
                AuditEntry.objects.filter(change_set=change_set).select_related("content_type").order_by("id")
            )
            page = Paginator(entries, self.records_per_page).get_page(request.GET.get("page"))
            records = entries_with_changes(page.object_list)
            for entry, _ in records:
                entry.link = (
                    admin_change_url(entry.content_type, entry.object_id)
                    if entry.action != "deleted"
                    else None
                )
            undone_by = change_set.undone_by.first()
            extra = {
                "records": records,
                "records_page": page,
                "undone_by": undone_by,
                "undone_by_message": f"Undone by “{undone_by}” on {undone_by.created_at:%Y-%m-%d %H:%M}."
                if undone_by
                else "",
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def has_undo_permission(self, request, object_id=None):
        # Who may try: anyone who may change tracked business records. The undo service then checks
        # the exact permissions for the models this change set touched; auditors never pass.
        return any(
            request.user.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}")
            for model in tracked_models()
        )

    @action(description="Undo…", url_path="undo", icon="undo", permissions=["undo"])
    def undo(self, request, object_id):
        change_set = self.get_object(request, unquote(object_id))
        if change_set is None:
            raise Http404
        back = reverse("admin:audit_changeset_change", args=[change_set.pk])
        if request.method == "POST":
            undo = self.run_service(
                request,
                lambda: change_set_undo(
                    change_set=change_set,
                    user=request.user,
                    skip_conflicts=request.POST.get("choice") == "skip",
                    why=request.POST.get("why", ""),
                ),
            )
            if undo is REFUSED:
                return HttpResponseRedirect(back)
            if not isinstance(undo, ChangeSet):
                # Held by a guard (a shop's rule): what it wrote instead says what happens next.
                self.message_user(request, held_message(undo), messages.INFO)
                return HttpResponseRedirect(back)
            self.message_user(
                request,
                message_with_change_set(f"“{change_set}” was undone ({undo.row_count} record(s)).", undo),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:audit_changeset_change", args=[undo.pk]))
        plan = change_set_undo_plan(change_set)
        touched = [
            (
                record.label,
                admin_change_url_for_model(record.model, record.pk),
                UNDO_EFFECTS[record.first_action],
            )
            for record in plan.records[: self.records_per_page]
            if not record.problem
        ]
        return TemplateResponse(
            request,
            "admin/audit/changeset/undo.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Undo “{change_set}”",
                "opts": self.opts,
                "change_set": change_set,
                "plan": plan,
                "touched": touched,
                "touched_more": len(plan.records) - len(plan.conflicts) - len(touched),
                "notices": undo_notices(plan),
                "conflict_message": (
                    f"{len(plan.conflicts)} record(s) were changed again after this change set. "
                    "They are listed below: undo can skip them (they keep their current values) or you "
                    "can cancel. Nothing is overwritten silently."
                ),
            },
        )
