from django import forms
from unfold.forms import BaseDialogForm
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from .services import STOCK_MAX


class StockAdjustmentFields(forms.Form):
    quantity = forms.IntegerField(
        label="Change in units",
        min_value=-STOCK_MAX,
        max_value=STOCK_MAX,
        help_text="Positive to add units (e.g. 12), negative to remove them (e.g. -3).",
        widget=UnfoldAdminIntegerFieldWidget,
    )
    reason = forms.CharField(
        max_length=255,
        help_text="Why the stock changes: it is kept in the stock ledger and the history.",
        widget=UnfoldAdminTextInputWidget,
    )

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("Give a change other than zero.")
        return quantity

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the stock changes.")
        return reason


class StockAdjustmentDialogForm(StockAdjustmentFields, BaseDialogForm):
    """The "Adjust stock" dialog on a product's page."""


class StockAdjustmentBulkForm(StockAdjustmentFields):
    """The same question for several selected products (an intermediate page of the list action)."""
