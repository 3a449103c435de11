from django import forms
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminTextInputWidget,
)

from .models import Product
from .services import STOCK_MAX

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
    """The "Adjust stock" dialog on a product's page: the stock now, and what the change will leave."""

    form_before_template = "admin/inventory/product/adjust_stock_preview.html"

    def get_before_template_context(self, request, object_id=None):
        product = Product.objects.filter(pk=object_id).only("stock", "name").first()
        try:
            change = int(self.data.get("quantity", 0))
        except ValueError:
            change = 0
        return {"product": product, "change": change}


class StockAdjustmentBulkForm(StockAdjustmentFields):
    """The same question for several selected products (an intermediate page of the list action)."""
