"""An order's lines on its page: the inline and its formset, which hands the order service the
quantities the person wants and the lines they edited, with the versions they opened."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from unfold.admin import TabularInline
from unfold.decorators import display

from audit.versioned_admin import ADDED, CHANGED, DELETED, EditedRows, edited_rows, row_actions
from core.money import format_money
from inventory.models import Product

from . import services
from .admin_records import money_cell
from .forms import ProductPicker
from .models import OrderItem


class OrderLinesFormSet(BaseInlineFormSet):
    """Order lines as the service sees them: the quantities wanted per product, measured against the
    lines as the page was opened (``audit.versioned_admin``: a line someone else changed since is
    no change of this person's)."""

    edit_request = None  # the request, on a page that carries versions

    def wanted_quantities(self) -> dict:
        wanted, product_pk = {}, Product._meta.pk.to_python
        for form, action, _names in row_actions(self.edit_request, self):
            before = form.initial.get("product")  # the line's product as the page was opened
            if action == DELETED:
                wanted.setdefault(product_pk(before), 0)
            elif action in (CHANGED, ADDED) and form.cleaned_data.get("product") is not None:
                product = form.cleaned_data["product"].pk
                if action == CHANGED and before is not None and product_pk(before) != product:
                    wanted.setdefault(product_pk(before), 0)
                wanted[product] = form.cleaned_data["quantity"]
        return wanted

    def edited(self) -> EditedRows:
        """The lines the person changed or deleted, with their versions (once per request: it notes
        lines deleted since for the message)."""
        if not hasattr(self, "_edited"):
            self._edited = edited_rows(self.edit_request, self) if self.edit_request else EditedRows()
        return self._edited

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        problems = services.order_lines_check(order=self.instance, quantities=self.wanted_quantities())
        if problems:
            raise ValidationError(problems)

    def save(self, commit=True):
        # The order service writes the lines (stock, totals, money, history), not the formset.
        wanted, edited = self.wanted_quantities(), self.edited()
        if wanted or edited.changed or edited.deleted:
            services.order_lines_set(
                order=self.instance,
                quantities=wanted,
                user=self.request_user,
                expect_difference=self.confirmed_difference,
                changed=edited.changed,
                deleted=edited.deleted,
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
