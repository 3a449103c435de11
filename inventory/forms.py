from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminTextInputWidget,
)

from approvals.gate import approval_needed

from .models import Product
from .selectors import last_movement_id, movements_since
from .services import STOCK_MAX
from .services.holds import price_change_measure


class ProductAdminForm(forms.ModelForm):
    """The product's page, with a reason box: an edit whose price change exceeds the shop's rule waits
    for approval and needs one (the approver reads it); other edits keep it in their history."""

    why = forms.CharField(
        label="Why",
        required=False,
        max_length=500,
        widget=UnfoldAdminTextInputWidget,
        help_text="Why you change it: kept in the history, and required when the change waits for approval.",
    )

    class Meta:
        model = Product
        fields = ["price"]  # the admin names the rest (its fieldsets); a category list needs a shop

    def clean(self):
        cleaned = super().clean()
        # The instance still holds the stored values here (the form's values are set on it after).
        price = cleaned.get("price")
        if self.instance.pk and "price" in self.changed_data and price is not None and not cleaned.get("why"):
            needed = approval_needed([price_change_measure(self.instance.price, price)])
            if needed:
                self.add_error("why", needed)
        return cleaned


# The usual reasons, one click each; the free text adds to them (a delivery number) or stands alone.
REASON_PRESETS = [
    ("Received", "Received"),
    ("Count correction", "Count correction"),
    ("Damaged", "Damaged"),
    ("Returned", "Returned"),
]


class StockAdjustmentFields(forms.Form):
    quantity = forms.IntegerField(
        label="Change in units",
        min_value=-STOCK_MAX,
        max_value=STOCK_MAX,
        help_text="Positive to add units (e.g. 12), negative to remove them (e.g. -3).",
        widget=UnfoldAdminIntegerFieldWidget,
    )
    preset = forms.ChoiceField(
        label="Reason",
        choices=REASON_PRESETS,
        required=False,
        widget=UnfoldAdminRadioSelectWidget,
    )
    reason = forms.CharField(
        label="Details",
        max_length=255,
        required=False,
        help_text="A delivery number, what was damaged… Kept with the reason in the ledger and history.",
        widget=UnfoldAdminTextInputWidget,
    )

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("Give a change other than zero.")
        return quantity

    def clean(self):
        cleaned = super().clean()
        preset, details = cleaned.get("preset") or "", (cleaned.get("reason") or "").strip()
        if not preset and not details:
            self.add_error("reason", "Pick a reason or say why the stock changes.")
        cleaned["reason"] = f"{preset}: {details}" if preset and details else preset or details
        return cleaned


class StockAdjustmentDialogForm(StockAdjustmentFields, BaseDialogForm):
    """The "Adjust stock" dialog on a product's page: the stock now and what the change will leave. It
    carries the stock as it opened (with the ledger's newest row then): the change in units applies to
    the stock as it is when confirmed, and if that moved meanwhile, the message says so and what moved it."""

    form_before_template = "admin/inventory/product/adjust_stock_preview.html"
    stock_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)
    ledger_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        try:
            self.product = Product.objects.filter(pk=object_id).first() if object_id else None
        except (ValueError, ValidationError):
            self.product = None
        if self.product is not None:
            self.fields["stock_seen"].initial = self.product.stock
            self.fields["ledger_seen"].initial = last_movement_id(self.product)

    def get_before_template_context(self, request, object_id=None):
        try:
            change = int(self.data.get("quantity", 0))
        except ValueError:
            change = 0
        return {"product": self.product, "change": change}

    def outcome(self, movement) -> tuple[str, int]:
        """The message (and its level) once ``movement`` is written: what the stock became and, if it
        had moved since the dialog opened (the service read it under the row lock), what moved it."""
        change, after = f"{movement.quantity:+d}", movement.stock_after
        text = format_html("Stock of {} changed by {} to {}.", self.product.name, change, after)
        seen, was = self.cleaned_data.get("stock_seen"), movement.stock_after - movement.quantity
        if seen is None or seen == was:
            return text, messages.SUCCESS
        opened_at = self.cleaned_data.get("ledger_seen") or 0
        moved = movements_since(self.product, after_id=opened_at, mine=movement)
        text = format_html(
            "{} The stock was {} when you confirmed, not {} as when the dialog opened{}.",
            text,
            was,
            seen,
            f": {moved}" if moved else "",
        )
        return text, messages.WARNING


class StockAdjustmentBulkForm(StockAdjustmentFields):
    """The same question for several selected products (an intermediate page of the list action)."""
