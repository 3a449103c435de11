from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.html import format_html
from unfold.contrib.filters.admin import ChoicesCheckboxFilter

from audit.conflicts import EditConflict, noting
from audit.history_admin import HistoryAdmin
from core.cells import display
from core.exceptions import DomainError
from core.export_admin import ExportAdminMixin
from core.filters import DayRangeFilter
from core.money import format_money

from . import billing, services
from .admin_actions import OrderActions
from .admin_lines import OrderItemInline, OrderLinesFormSet
from .admin_money import OrderMoneyPages
from .admin_records import money_cell  # also registers the other lists
from .models import Order, OrderStatus
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
    edit_in_one_transaction = False  # its services commit their own steps around the provider's calls
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
        # The lines as the page's own save takes them: measured against the versions the page carries.
        formset_class = next(
            fs
            for fs, inline in self.get_formsets_with_inlines(request, order)
            if isinstance(inline, OrderItemInline)
        )
        formset = formset_class(request.POST, request.FILES, instance=order, prefix="items")
        if not formset.is_valid():
            return None  # the page again, with the errors
        try:
            with noting():  # what merges is said once the page is saved
                form = self.get_form(request, order, change=True)(request.POST, request.FILES, instance=order)
                data, version = self.edited_details(request, form) if form.is_valid() else ({}, None)
                self.check_page(order, [formset], data=data, version=version)
        except EditConflict:
            return None  # the page again, with the comparison, before any money is asked for
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
        # Every clash with what others saved since the page was opened first (nothing written then:
        # the lines may move money, so the page isn't saved in one transaction), then the lines
        # (they may be refused: then nothing of the page was saved), then the details. Each service
        # checks its part again under the order's lock.
        if change:
            data, version = self.edited_details(request, form)
            self.check_page(form.instance, formsets, data=data, version=version)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        if change:
            services.order_update(order=form.instance, data=data, user=request.user, version=version)

    def edited_details(self, request, form):
        data, version = self.edited_values(request, form, form.instance)
        return {k: v for k, v in data.items() if k in ("shipping_address", "customer")}, version

    def check_page(self, order, formsets, *, data=None, version=None) -> None:
        lines = [formset.edited() for formset in formsets if isinstance(formset, OrderLinesFormSet)]
        services.order_page_check(
            order=order,
            data=data,
            version=version,
            changed=[edit for rows in lines for edit in rows.changed],
            deleted=[edit for rows in lines for edit in rows.deleted],
        )

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
