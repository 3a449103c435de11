from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.html import format_html, format_html_join
from unfold.contrib.filters.admin import (
    ChoicesCheckboxFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import display

from backoffice.admin_base import CsvExportMixin, ReadOnlyAdmin
from backoffice.filters import DayRangeFilter

from .models import AuditEntry, ChangeSet
from .selectors import admin_change_url, admin_history_url, entry_diff

ACTION_COLOURS = {
    AuditEntry.Action.CREATED: "success",
    AuditEntry.Action.CHANGED: "info",
    AuditEntry.Action.DELETED: "danger",
}


class StaffUserFilter(RelatedDropdownFilter):
    def field_choices(self, field, request, model_admin):
        return [
            (user.pk, str(user))
            for user in get_user_model().objects.filter(is_staff=True).order_by("username")
        ]


class ModelFilter(RelatedDropdownFilter):
    """The business models (the content types of every tracked app), not every table."""

    def field_choices(self, field, request, model_admin):
        from django.contrib.contenttypes.models import ContentType

        return [
            (ct.pk, ct.model_class()._meta.verbose_name.capitalize())
            for ct in ContentType.objects.filter(app_label__in=["inventory", "orders"]).order_by("model")
            if ct.model_class() is not None
        ]


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
    ]
    list_display_links = ["created_at"]
    list_select_related = ["user", "content_type"]
    list_filter = [
        ("user", StaffUserFilter),
        ("content_type", ModelFilter),
        ("action", ChoicesCheckboxFilter),
        ("created_at", DayRangeFilter),
        "change_set",
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

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        return (queryset.filter(object_repr__icontains=term) if term else queryset), False

    @display(description="Model", ordering="content_type")
    def model_name(self, obj):
        model = obj.content_type.model_class()
        return model._meta.verbose_name.capitalize() if model else obj.content_type.model

    @display(description="Object")
    def object_link(self, obj):
        url = admin_change_url(obj.content_type, obj.object_id) if obj.action != "deleted" else None
        if url:
            return format_html('<a href="{}" class="text-primary-600">{}</a>', url, obj.object_repr)
        return obj.object_repr

    @display(description="Type", ordering="action", label=ACTION_COLOURS)
    def action_badge(self, obj):
        return obj.action, obj.get_action_display()

    @display(description="Changed fields")
    def changed(self, obj):
        return ", ".join(obj.changed_fields) or "—"

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
                '<td class="pr-4 text-red-700">{}</td><td class="text-green-700">{}</td></tr>',
                rows,
            ),
        )
        if history:
            table = format_html(
                '{}<p class="mt-2"><a href="{}" class="text-primary-600">All versions of this record</a></p>',
                table,
                history,
            )
        return table


@admin.register(ChangeSet)
class ChangeSetAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "user", "row_count", "created_at"]
    list_select_related = ["user"]
    list_filter = [("kind", ChoicesCheckboxFilter), ("created_at", DayRangeFilter)]
    search_fields = ["title"]
    ordering = ["-created_at", "-id"]
