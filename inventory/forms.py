from django import forms
from unfold.forms import BaseDialogForm
from unfold.widgets import UnfoldAdminIntegerFieldWidget, UnfoldAdminTextInputWidget

from approvals.gate import approval_needed

from .models import Product
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
