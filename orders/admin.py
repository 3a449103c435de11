from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.urls import reverse
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import ChoicesCheckboxFilter
from unfold.decorators import action, display

from audit.history_admin import HistoryAdmin, message_with_change_set
from core.admin_base import (
    REFUSED,
    LabelledTabularInline,
    ReadOnlyAdmin,
    ReadOnlyPermissions,
    action_confirmation,
    redirect_from_dialog,
)
from core.export_admin import ExportAdminMixin
from core.filters import DayRangeFilter
from core.search import indexed_search
from imports.import_views import ImportAdminMixin
from inventory.models import Product

from . import services
from .forms import order_transition_form
from .models import Customer, Order, OrderItem, OrderStatus
from .resources import CustomerResource, OrderLineResource
from .selectors import (
    normalise_order_number,
    order_lines_as_of,
    orders_transition_effects,
    search_orders,
)

STATUS_COLOURS = {
    OrderStatus.PENDING: "warning",
    OrderStatus.PAID: "info",
    OrderStatus.SHIPPED: "primary",
    OrderStatus.COMPLETED: "success",
    OrderStatus.CANCELLED: "danger",
    OrderStatus.REFUNDED: "default",
}


class OrderLinesFormSet(BaseInlineFormSet):
    """Order lines as the service sees them: the quantities wanted per product."""

    def wanted_quantities(self) -> dict:
        wanted = {}
        for form in self.initial_forms:
            line = form.instance
            if form in self.deleted_forms:
                wanted.setdefault(line.product_id, 0)
            elif form.has_changed():
                if "product" in form.changed_data:
                    wanted.setdefault(form.initial["product"], 0)
                wanted[form.cleaned_data["product"].pk] = form.cleaned_data["quantity"]
        for form in self.extra_forms:
            if form.has_changed() and form not in self.deleted_forms and form.cleaned_data:
                wanted[form.cleaned_data["product"].pk] = form.cleaned_data["quantity"]
        return wanted

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        problems = services.order_lines_check(order=self.instance, quantities=self.wanted_quantities())
        if problems:
            raise ValidationError(problems)

    def save(self, commit=True):
        # The order service writes the lines (stock, totals, money, history), not the formset.
        services.order_lines_set(
            order=self.instance, quantities=self.wanted_quantities(), user=self.request_user
        )
        # The admin's change message reads these; the lines' own history says what changed.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class OrderItemInline(LabelledTabularInline):
    model = OrderItem
    formset = OrderLinesFormSet
    fields = ["product", "quantity", "unit_price", "line_total"]
    readonly_fields = ["unit_price", "line_total"]
    autocomplete_fields = ["product"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.request_user = request.user
        return formset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    def _editable(self, request, obj):
        return obj is not None and obj.is_editable and request.user.has_perm("orders.change_order")

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj) and super().has_delete_permission(request, obj)


def _status_button(name: str, to: OrderStatus, *, label: str, icon: str, submit: str, verb: str):
    """A status button of an order's page: it opens a dialog saying what the change does to money and
    stock (``orders.forms.OrderTransitionForm``); only its Confirm (a POST) changes the order."""

    def button(self, request, form, object_id):
        return self._detail(request, object_id, to, verb)

    button.__name__ = button.__qualname__ = name  # Unfold finds a detail action by its name
    dialog = {"title": f"{label}?", "form_class": order_transition_form(to), "form_submit_text": submit}
    return action(description=label, permissions=["change"], icon=icon, dialog=dialog)(button)


@admin.register(Order)
class OrderAdmin(ExportAdminMixin, HistoryAdmin):
    # Export only: orders are placed by the shop through the order service, never imported.
    resource_classes = [OrderLineResource]
    list_display = ["number", "customer", "status_badge", "item_count", "total", "created_at"]
    list_display_phone = ["number", "status_badge", "total"]  # what fits a phone (390 px)
    list_select_related = ["customer"]
    list_filter = [("status", ChoicesCheckboxFilter), ("created_at", DayRangeFilter)]
    date_hierarchy = "created_at"
    search_fields = ["number", "customer__email", "customer__name"]
    search_help_text = "An order number (ORD-000123 or 123), or the customer's e-mail or name."
    ordering = ["-created_at", "-id"]
    inlines = [OrderItemInline]
    fieldsets = [
        (None, {"fields": ["number", "customer", "status", "created_at"]}),
        ("Money", {"fields": ["subtotal", "tax", "total", "payment_reference"]}),
        ("Delivery and notes", {"fields": ["shipping_address", "internal_note"]}),
    ]
    readonly_fields = [
        "number",
        "customer",
        "status",
        "created_at",
        "subtotal",
        "tax",
        "total",
        "payment_reference",
    ]
    update_service = staticmethod(services.order_update)  # orders are placed by the shop, never deleted
    # Cancelled and refunded orders: nothing more can happen to them, so their page has no Save.
    final_state = staticmethod(lambda order: not services.TRANSITIONS[order.status])
    actions = ["bulk_ship", "bulk_complete", "bulk_cancel", "bulk_refund"]
    actions_detail = ["mark_paid", "ship", "complete", "cancel", "refund", "as_of"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_item_count()

    def get_search_results(self, request, queryset, search_term):
        return search_orders(queryset, search_term), False

    # Status buttons offered on an order's page: only the transitions its status allows.
    STATUS_ACTIONS = {
        "mark_paid": OrderStatus.PAID,
        "ship": OrderStatus.SHIPPED,
        "complete": OrderStatus.COMPLETED,
        "cancel": OrderStatus.CANCELLED,
        "refund": OrderStatus.REFUNDED,
    }

    def get_actions_detail(self, request, object_id):
        actions = super().get_actions_detail(request, object_id)
        order = self.get_object(request, unquote(str(object_id)))
        if order is None:
            return actions
        allowed = services.TRANSITIONS[order.status]

        def offered(action):
            target = self.STATUS_ACTIONS.get(action.action_name.removeprefix("orders_order_"))
            return target is None or target in allowed

        return [action for action in actions if offered(action)]

    def as_of_related(self, obj, when):
        headers = ["Product", "Quantity", "Unit price", "Line total"]
        return [("Lines at that time", headers, order_lines_as_of(order=obj, when=when))]

    def has_add_permission(self, request):
        return False  # orders are placed by the shop through the order service

    def has_delete_permission(self, request, obj=None):
        return False  # cancel or refund instead: deleting would lose money and stock history

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_editable and "shipping_address" not in readonly:
            readonly.append("shipping_address")
        return readonly

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Items", ordering="item_count")
    def item_count(self, obj):
        return obj.item_count

    # --- status changes: one service call per order, history per order -----------------------
    # Each says first what it will do to money and stock (a page for the list's actions, a dialog on
    # an order's page); only the confirmation, a POST with the CSRF token, changes anything.
    def _bulk(self, request, queryset, to: OrderStatus, verb: str):
        effects, refused = orders_transition_effects(queryset, to)
        page = action_confirmation(
            self,
            request,
            title=f"{services.BULK_TITLES[to]} of the selected orders",
            effects=effects,
            refusals=refused,
            submit=services.BULK_TITLES[to],
        )
        if page is not None:
            return page
        orders = list(queryset)
        change_set = self.run_service(
            request, lambda: services.order_bulk_transition(orders=orders, to=to, user=request.user)
        )
        if change_set is not REFUSED:
            # All or nothing: every selected order changed (the change set also counts their products).
            text = f"{len(orders)} order(s) {verb}."
            self.message_user(request, message_with_change_set(text, change_set), messages.SUCCESS)
        return None

    @action(description="Mark selected orders shipped", permissions=["change"])
    def bulk_ship(self, request, queryset):
        return self._bulk(request, queryset, OrderStatus.SHIPPED, "marked shipped")

    @action(description="Mark selected orders completed", permissions=["change"])
    def bulk_complete(self, request, queryset):
        return self._bulk(request, queryset, OrderStatus.COMPLETED, "completed")

    @action(description="Cancel selected orders (restock)", permissions=["change"])
    def bulk_cancel(self, request, queryset):
        return self._bulk(request, queryset, OrderStatus.CANCELLED, "cancelled and restocked")

    @action(description="Refund selected orders (restock)", permissions=["change"])
    def bulk_refund(self, request, queryset):
        return self._bulk(request, queryset, OrderStatus.REFUNDED, "refunded and restocked")

    def _detail(self, request, object_id, to: OrderStatus, verb: str):
        order = self.get_object(request, unquote(str(object_id)))
        if order is None:
            raise Http404("No order with this id.")
        done = self.run_service(
            request, lambda: services.order_transition(order=order, to=to, user=request.user)
        )
        if done is not REFUSED:
            self.message_user(request, f"Order {done.number} {verb}.", messages.SUCCESS)
        return redirect_from_dialog(request, reverse("admin:orders_order_change", args=[order.pk]))

    mark_paid = _status_button(
        "mark_paid",
        OrderStatus.PAID,
        label="Mark paid",
        icon="payments",
        submit="Charge and mark paid",
        verb="marked paid",
    )
    ship = _status_button(
        "ship",
        OrderStatus.SHIPPED,
        label="Mark shipped",
        icon="local_shipping",
        submit="Mark shipped",
        verb="marked shipped",
    )
    complete = _status_button(
        "complete",
        OrderStatus.COMPLETED,
        label="Complete",
        icon="task_alt",
        submit="Complete",
        verb="completed",
    )
    cancel = _status_button(
        "cancel",
        OrderStatus.CANCELLED,
        label="Cancel and restock",
        icon="cancel",
        submit="Cancel the order",
        verb="cancelled; its stock was returned",
    )
    refund = _status_button(
        "refund",
        OrderStatus.REFUNDED,
        label="Refund and restock",
        icon="currency_exchange",
        submit="Refund",
        verb="refunded; its stock was returned",
    )


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdmin):
    """Every order line, to look across orders. Lines are edited on their order's page."""

    list_display = ["order", "product", "quantity", "unit_price", "line_total"]
    list_display_phone = ["order", "product", "quantity"]  # what fits a phone (390 px)
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


class CustomerOrderInline(ReadOnlyPermissions, TabularInline):
    model = Order
    fields = ["number", "status", "total", "created_at"]
    readonly_fields = fields
    extra = 0
    per_page = 10
    show_change_link = True
    can_delete = False
    ordering = ["-created_at", "-id"]


@admin.register(Customer)
class CustomerAdmin(ImportAdminMixin, ExportAdminMixin, HistoryAdmin):
    import_resource = "customers"
    resource_classes = [CustomerResource]
    list_display = ["name", "email", "phone", "order_count", "lifetime_value", "created_at"]
    list_display_phone = ["name", "order_count"]  # what fits a phone (390 px)
    search_fields = ["email", "name"]
    search_help_text = "The start of an e-mail address, or words of the name."
    ordering = ["name", "id"]
    list_filter = [("created_at", DayRangeFilter)]
    fields = ["name", "email", "phone", "default_shipping_address", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [CustomerOrderInline]
    create_service = staticmethod(services.customer_create)
    update_service = staticmethod(services.customer_update)

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
        return obj.lifetime_value
