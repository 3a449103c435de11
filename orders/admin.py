from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from unfold.admin import TabularInline
from unfold.contrib.filters.admin import ChoicesCheckboxFilter

from audit.history_admin import HistoryAdmin
from core.cells import display
from core.exceptions import DomainError
from core.export_admin import ExportAdminMixin
from core.filters import DayRangeFilter
from core.money import format_money
from inventory.models import Product

from . import billing, services
from .admin_actions import OrderActions
from .admin_money import OrderMoneyPages
from .admin_records import money_cell  # also registers the other lists
from .forms import ProductPicker
from .models import Order, OrderItem, OrderStatus
from .resources import OrderLineResource
from .selectors import order_lines_as_of, search_orders

STATUS_COLOURS = {
    OrderStatus.DRAFT: "default",
    OrderStatus.PENDING: "warning",
    OrderStatus.PAID: "info",
    OrderStatus.PARTIALLY_REFUNDED: "warning",
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
        wanted = self.wanted_quantities()
        if wanted:
            services.order_lines_set(
                order=self.instance,
                quantities=wanted,
                user=self.request_user,
                expect_difference=self.confirmed_difference,
            )
        # The admin's change message reads these; the lines' own history says what changed.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class OrderItemInline(TabularInline):
    model = OrderItem
    formset = OrderLinesFormSet
    fields = ["product", "quantity", "unit_price_money", "line_total_money"]
    readonly_fields = ["unit_price_money", "line_total_money"]
    autocomplete_fields = ["product"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.request_user = request.user
        confirmed = request.POST.get("_confirmed_difference")
        formset.confirmed_difference = Decimal(confirmed) if confirmed else None
        return formset

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0  # a new draft starts with an empty line to fill

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product":
            kwargs["widget"] = ProductPicker(db_field, self.admin_site, using=kwargs.get("using"))
            kwargs["queryset"] = Product.objects.published()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @display(description="Unit price")
    def unit_price_money(self, obj):
        if obj.pk is None:
            return "—"
        return format_html(
            '<span class="whitespace-nowrap tabular-nums" data-unit-price="{}">{}</span>',
            obj.unit_price,
            format_money(obj.unit_price),
        )

    @display(description="Line total")
    def line_total_money(self, obj):
        return money_cell(obj.line_total) if obj.pk else "—"

    def _editable(self, request, obj):
        if obj is None:
            return request.user.has_perm("orders.add_order")
        return obj.is_editable and request.user.has_perm("orders.change_order")

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


MONEY_FIELDS = [
    "subtotal_money",
    "tax_money",
    "credited_money",
    "total_money",
    "paid_money",
    "refunded_money",
    "balance_money",
]


@admin.register(Order)
class OrderAdmin(OrderActions, OrderMoneyPages, ExportAdminMixin, HistoryAdmin):
    # Export only: orders are placed by the shop through the order service, never imported.
    resource_classes = [OrderLineResource]
    update_service = staticmethod(services.order_update)  # never deleted: cancelled instead
    list_display = [
        "number",
        "customer",
        "status_badge",
        "item_count",
        "total_money",
        "paid_money",
        "balance_money",
        "created_at",
    ]
    list_select_related = ["customer"]
    list_filter = [("status", ChoicesCheckboxFilter), ("created_at", DayRangeFilter)]
    date_hierarchy = "created_at"
    search_fields = ["number", "customer__email", "customer__name"]
    search_help_text = "An order number (ORD-000123 or 123), or the customer's e-mail or name."
    ordering = ["-created_at", "-id"]
    inlines = [OrderItemInline]
    autocomplete_fields = ["customer"]
    add_fieldsets = [
        (
            "New draft order",
            {
                "fields": ["customer", "shipping_address"],
                "description": "A draft takes no stock and charges nothing: add its lines, save, then "
                "place it from its page.",
            },
        )
    ]
    fieldsets = [
        (None, {"fields": ["number", "customer", "status", "created_at", "shipped_at"]}),
        ("Money", {"fields": MONEY_FIELDS}),
        ("Delivery", {"fields": ["shipping_address"]}),
    ]
    readonly_fields = ["number", "status", "created_at", "shipped_at", *MONEY_FIELDS]
    as_of_hidden = ()

    def get_queryset(self, request):
        return super().get_queryset(request).with_item_count().with_money()

    def get_search_results(self, request, queryset, search_term):
        return search_orders(queryset, search_term), False

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if obj is not None and not obj.is_draft:
            readonly.append("customer")
        if obj is not None and obj.status not in (OrderStatus.DRAFT, OrderStatus.PENDING, OrderStatus.PAID):
            readonly.append("shipping_address")
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "shipping_address" in form.base_fields:
            form.base_fields["shipping_address"].required = False
            if obj is None:
                form.base_fields["shipping_address"].help_text = "Empty: the customer's default address."
        return form

    def as_of_related(self, obj, when):
        headers = ["Product", "Quantity", "Unit price", "Line total"]
        rows = [
            (p, q, format_money(u), format_money(t)) for p, q, u, t in order_lines_as_of(order=obj, when=when)
        ]
        return [("Lines at that time", headers, rows)]

    def has_add_permission(self, request):
        return request.user.has_perm("orders.add_order")  # support takes orders by phone and e-mail

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: deleting would lose money and stock history

    # --- saving: through the order service, outside one big transaction -------------------------
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Django's admin saves a page in one transaction; here each service commits its own steps
        and calls the payment provider between them (never inside a transaction), so a POST is
        processed without one. A paid order whose lines would change its total is not saved before
        support has seen and confirmed the difference."""
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        from unfold.forms import AdminForm, Fieldline

        helpers.AdminForm, helpers.Fieldline = AdminForm, Fieldline  # as Unfold's changeform_view does
        if object_id and "_confirmed_difference" not in request.POST:
            confirmation = self.edit_confirmation(request, object_id)
            if confirmation is not None:
                return confirmation
        extra_context = {**(extra_context or {}), **self._detail_actions_context(request, object_id)}
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, f"Not saved: {error}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def _detail_actions_context(self, request, object_id) -> dict:
        """The action buttons Unfold's own changeform_view adds (for a page shown again with errors)."""
        if not object_id:
            return {}
        return {
            "actions_detail_hide_default": self.actions_detail_hide_default,
            "actions_submit_line": self.get_actions_submit_line(request, object_id),
            "actions_detail": self._get_actions_navigation(
                self.actions_detail, self.get_actions_detail(request, object_id), object_id
            ),
        }

    def edit_confirmation(self, request, object_id):
        """The page that says what an edit of a paid order will charge or refund, or None."""
        order = self.get_object(request, object_id)
        if (
            order is None
            or order.status != OrderStatus.PAID
            or not self.has_change_permission(request, order)
        ):
            return None
        inline = next(i for i in self.get_inline_instances(request, order) if isinstance(i, OrderItemInline))
        formset = inline.get_formset(request, order)(
            request.POST, request.FILES, instance=order, prefix="items"
        )
        if not formset.is_valid():
            return None  # the page again, with the errors
        plan = services.order_edit_preview(order=order, quantities=formset.wanted_quantities())
        if not plan.moves_money:
            return None
        from .timeline import line_changes

        return TemplateResponse(
            request,
            "admin/orders/order/confirm_edit.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Confirm the edit of {order.number}",
                "opts": self.opts,
                "original": order,
                "plan": plan,
                "amount": abs(plan.difference),
                "changes": line_changes(plan.before, plan.after),
                "charges": billing.charges_refundable(order),
                "posted": [
                    (k, v) for k, values in request.POST.lists() for v in values if k != "csrfmiddlewaretoken"
                ],
            },
        )

    def save_model(self, request, obj, form, change):
        if not change:
            draft = services.order_draft_create(
                customer=form.cleaned_data["customer"],
                shipping_address=form.cleaned_data.get("shipping_address") or None,
                user=request.user,
            )
            # The admin goes on with this instance (the lines formset, the redirect): it is the draft.
            obj.__dict__.update({k: v for k, v in draft.__dict__.items() if k != "_state"})
            obj._state.adding, obj._state.db = False, draft._state.db

    def save_related(self, request, form, formsets, change):
        # Lines first (they may be refused: then nothing of the page was saved), then the details.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        if change:
            data = {name: form.cleaned_data.get(name) for name in ("shipping_address", "customer")}
            services.order_update(order=form.instance, data=data, user=request.user)

    def construct_change_message(self, request, form, formsets, add=False):
        return [{"added": {}}] if add else [{"changed": {"fields": sorted(form.changed_data)}}]

    # --- columns and read-only fields --------------------------------------------------------------
    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Items", ordering="item_count")
    def item_count(self, obj):
        return obj.item_count

    @display(description="Subtotal")
    def subtotal_money(self, obj):
        return money_cell(obj.subtotal)

    @display(description="Tax")
    def tax_money(self, obj):
        return money_cell(obj.tax)

    @display(description="Credited (refunds, cancellation)")
    def credited_money(self, obj):
        return money_cell(obj.credited)

    @display(description="Total", ordering="total")
    def total_money(self, obj):
        return money_cell(obj.total)

    @display(description="Paid")
    def paid_money(self, obj):
        return money_cell(self._money(obj, "paid"))

    @display(description="Refunded")
    def refunded_money(self, obj):
        return money_cell(self._money(obj, "refunded"))

    @display(description="Balance")
    def balance_money(self, obj):
        balance = self._money(obj, "balance")
        if obj.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED) or not balance:
            return money_cell(balance)
        tone = "text-red-600" if balance > 0 else "text-orange-600"
        words = "due" if balance > 0 else "owed to the customer"
        return format_html(
            '<span class="{} whitespace-nowrap">{} {}</span>', tone, format_money(balance), words
        )

    def _money(self, obj, name):
        if not hasattr(obj, name):  # an order read without the annotation (the change page's own)
            figures = Order.objects.with_money().values("paid", "refunded", "balance").get(pk=obj.pk)
            for key, value in figures.items():
                setattr(obj, key, value)
        return getattr(obj, name)
