"""The stock ledger in the admin: its list (append-only, read-only for everyone) and a product's
movements on its page, each with the record that caused it."""

from django.contrib import admin
from django.utils.html import format_html
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import AutocompleteSelectFilter, ChoicesCheckboxFilter

from audit.selectors import admin_change_url
from core.admin_base import CsvExportMixin, ReadOnlyAdmin, ReadOnlyPermissions
from core.cells import display
from core.filters import DayRangeFilter, StaffUserFilter

from .models import StockMovement
from .selectors import reference_label


def movement_reference_link(movement):
    if not movement.reference_type_id:
        return "—"
    url = admin_change_url(movement.reference_type, movement.reference_id)
    label = reference_label(movement)
    return format_html('<a href="{}" class="text-link">{}</a>', url, label) if url else label


def signed(quantity: int) -> str:
    """+20 / -3 / +1,200: a stock change always says which way it went."""
    return f"{quantity:+,d}"


MOVEMENT_COLOURS = {
    StockMovement.Kind.RECEIPT: "success",
    StockMovement.Kind.SALE: "info",
    StockMovement.Kind.CANCELLATION: "warning",
    StockMovement.Kind.REFUND: "warning",
    StockMovement.Kind.RETURN: "warning",
    StockMovement.Kind.WRITE_OFF: "danger",
    StockMovement.Kind.ADJUSTMENT: "primary",
    StockMovement.Kind.IMPORT: "primary",
    StockMovement.Kind.CORRECTION: "danger",
}


class StockMovementInline(ReadOnlyPermissions, TabularInline):
    """The product's stock ledger, newest first, with the balance after each movement."""

    model = StockMovement
    verbose_name_plural = "stock movements (newest first)"
    fields = ["created_at", "change", "kind", "stock_after", "reason", "user", "caused_by"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    per_page = 10
    extra = 0
    can_delete = False
    tab = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "user", "reference_type")

    @display(description="Change")
    def change(self, obj):
        return signed(obj.quantity)

    @display(description="Caused by")
    def caused_by(self, obj):
        return movement_reference_link(obj)


@admin.register(StockMovement)
class StockMovementAdmin(CsvExportMixin, ReadOnlyAdmin):
    """The stock ledger: append-only, read-only for everyone."""

    list_display = [
        "created_at",
        "product",
        "quantity_signed",
        "kind_badge",
        "stock_after",
        "reason",
        "user",
        "caused_by",
    ]
    list_display_phone = ["created_at", "quantity_signed", "kind_badge"]  # what fits a phone (390 px)
    list_select_related = ["product", "user", "reference_type"]
    list_filter = [
        ("kind", ChoicesCheckboxFilter),
        ("user", StaffUserFilter),
        ("product", AutocompleteSelectFilter),
        ("created_at", DayRangeFilter),
    ]
    ordering = ["-created_at", "-id"]
    csv_columns = [
        ("when", lambda m: m.created_at.isoformat()),
        ("sku", lambda m: m.product.sku),
        ("product", lambda m: m.product.name),
        ("change", lambda m: m.quantity),
        ("kind", lambda m: m.kind),
        ("stock after", lambda m: m.stock_after),
        ("reason", lambda m: m.reason),
        ("user", lambda m: m.user or ""),
        (
            "reference",
            lambda m: f"{m.reference_type.model}:{m.reference_id}" if m.reference_type_id else "",
        ),
    ]

    @display(description="Change", ordering="quantity")
    def quantity_signed(self, obj):
        return signed(obj.quantity)

    @display(description="Kind", ordering="kind", label=MOVEMENT_COLOURS)
    def kind_badge(self, obj):
        return obj.kind, obj.get_kind_display()

    @display(description="Caused by")
    def caused_by(self, obj):
        return movement_reference_link(obj)
