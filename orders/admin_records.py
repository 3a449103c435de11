"""The orders desk's other lists: order lines, the payments ledger (both read-only) and customers."""

from django.contrib import admin
from django.utils.html import format_html
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import ChoicesCheckboxFilter

from audit.history_admin import HistoryAdmin
from core.admin_base import CsvExportMixin, ReadOnlyAdmin, ReadOnlyPermissions
from core.cells import display
from core.export_admin import ExportAdminMixin
from core.filters import DayRangeFilter
from core.money import format_money
from core.search import indexed_search
from imports.import_views import ImportAdminMixin
from inventory.models import Product

from . import services
from .models import Customer, Order, OrderItem, Payment
from .resources import CustomerResource
from .selectors import normalise_order_number


def money_cell(amount):
    """Money in a list or a read-only field: right-aligned digits, with its currency."""
    return format_html('<span class="whitespace-nowrap tabular-nums">{}</span>', format_money(amount))


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdmin):
    """Every order line, to look across orders. Lines are edited on their order's page."""

    list_display = ["order", "product", "quantity", "unit_price_money", "line_total_money"]
    list_select_related = ["order", "product"]
    search_fields = ["order__number", "product__sku"]
    search_help_text = "An order number or an exact SKU."
    ordering = ["-id"]

    def get_search_results(self, request, queryset, search_term):
        # The order (or products) first, through their own per-shop indexes: a join on
        # order__number / product__sku can't use them and reads every order (90 ms at a million).
        number = normalise_order_number(search_term)
        if number:
            return queryset.filter(order__in=Order.objects.filter(number=number).values("pk")), False
        if not search_term.strip():
            return queryset, False
        products, _ = indexed_search(Product.objects.all(), search_term, prefix={"sku": str.upper})
        return queryset.filter(product__in=products.values("pk")), False

    @display(description="Unit price", ordering="unit_price")
    def unit_price_money(self, obj):
        return money_cell(obj.unit_price)

    @display(description="Line total", ordering="line_total")
    def line_total_money(self, obj):
        return money_cell(obj.line_total)


PAYMENT_COLOURS = {
    Payment.Status.PENDING: "warning",
    Payment.Status.SUCCEEDED: "success",
    Payment.Status.FAILED: "danger",
}


@admin.register(Payment)
class PaymentAdmin(CsvExportMixin, ReadOnlyAdmin):
    """The payments ledger: every charge and refund, append-only, read-only for everyone."""

    list_display = [
        "created_at",
        "order",
        "kind",
        "status_badge",
        "amount_money",
        "gateway_reference",
        "purpose",
        "user",
        "reason",
    ]
    list_select_related = ["order", "user"]
    list_filter = [
        ("kind", ChoicesCheckboxFilter),
        ("status", ChoicesCheckboxFilter),
        ("created_at", DayRangeFilter),
    ]
    search_fields = ["order__number", "gateway_reference"]
    search_help_text = "An order number, or the provider's reference of a charge or refund."
    ordering = ["-created_at", "-id"]
    csv_columns = [
        ("created_at", lambda p: p.created_at.isoformat()),
        ("order", lambda p: p.order.number),
        ("kind", lambda p: p.kind),
        ("status", lambda p: p.status),
        ("amount", lambda p: p.amount),
        ("currency", lambda p: p.currency),
        ("reference", lambda p: p.gateway_reference),
        ("purpose", lambda p: p.purpose),
        ("reason", lambda p: p.reason),
    ]

    def get_search_results(self, request, queryset, search_term):
        number = normalise_order_number(search_term)
        if number:
            return queryset.filter(order__in=Order.objects.filter(number=number).values("pk")), False
        term = search_term.strip()
        return (queryset.filter(gateway_reference=term) if term else queryset), False

    @display(description="Status", ordering="status", label=PAYMENT_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Amount", ordering="amount")
    def amount_money(self, obj):
        return money_cell(obj.amount if obj.kind == Payment.Kind.CHARGE else -obj.amount)


class CustomerOrderInline(ReadOnlyPermissions, TabularInline):
    model = Order
    fields = ["number", "status", "total_money", "created_at"]
    readonly_fields = fields
    extra = 0
    per_page = 10
    show_change_link = True
    can_delete = False
    ordering = ["-created_at", "-id"]

    @display(description="Total")
    def total_money(self, obj):
        return money_cell(obj.total)


@admin.register(Customer)
class CustomerAdmin(ImportAdminMixin, ExportAdminMixin, HistoryAdmin):
    import_resource = "customers"
    resource_classes = [CustomerResource]
    create_service = staticmethod(services.customer_create)
    update_service = staticmethod(services.customer_update)
    list_display = ["name", "email", "phone", "order_count", "lifetime_value", "created_at"]
    search_fields = ["email", "name"]
    search_help_text = "The start of an e-mail address, or words of the name."
    ordering = ["name", "id"]
    list_filter = [("created_at", DayRangeFilter)]
    fields = ["name", "email", "phone", "default_shipping_address", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [CustomerOrderInline]

    def get_queryset(self, request):
        return super().get_queryset(request).with_order_stats()

    def get_search_results(self, request, queryset, search_term):
        return indexed_search(queryset, search_term, prefix={"email": str.lower}, contains=["name"])

    def has_delete_permission(self, request, obj=None):
        return False  # customers with orders are kept; their history stays readable

    @display(description="Orders", ordering="order_count")
    def order_count(self, obj):
        return obj.order_count

    @display(description="Lifetime value", ordering="lifetime_value")
    def lifetime_value(self, obj):
        return money_cell(obj.lifetime_value)
