"""Forms of the orders desk: the dialogs that say what an action will do before it is confirmed, the
refund and return page, staff notes, and the product picker of order lines."""

from decimal import Decimal

from django import forms
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.urls import reverse
from unfold.forms import BaseDialogForm
from unfold.widgets import (
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from . import selectors
from .models import Order, OrderReturnLine
from .services import tax_for

NOT_RETURNED = "kept"
GOODS_CHOICES = [(NOT_RETURNED, "Not returned (refund only)"), *OrderReturnLine.Disposition.choices]


class ProductPicker(AutocompleteSelect):
    """Django's product autocomplete, answered by the order admin's own search: each product shows its
    stock and price, and the page's script reads the price to update the totals."""

    def get_url(self):
        return reverse("admin:orders_order_products")


class OrderDialogForm(BaseDialogForm):
    """A dialog on an order's page whose top part says what the action will do (``preview``). If the
    order changed while the dialog was open (another person's edit, a refund), the confirmation is
    refused and the dialog says what it would do now, to be confirmed again."""

    preview_template = ""
    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        try:
            self.order = Order.objects.with_money().filter(pk=unquote(str(object_id))).first()
        except (ValueError, ValidationError):
            self.order = None
        self.fields["seen"].initial = self.fingerprint()

    def fingerprint(self) -> str:
        """What the preview depends on: the order as it is (any change of it moves ``updated_at``)
        and its money."""
        order = self.order
        if order is None:
            return ""
        return f"{order.status}|{order.total}|{order.paid}|{order.refunded}|{order.updated_at.isoformat()}"

    @property
    def form_before_template(self):
        return self.preview_template

    def get_before_template_context(self, request, object_id=None):
        errors = self.non_field_errors() if self.is_bound else []
        if self.order is None:
            return {"errors": errors}
        return {"order": self.order, "errors": errors, **self.preview(self.order)}

    def preview(self, order) -> dict:
        return {}

    def clean(self):
        cleaned = super().clean()
        if self.order is None:
            raise forms.ValidationError("This order doesn't exist.")
        if cleaned.get("seen") != self.fingerprint():
            self.data = self.data.copy()
            self.data[self.add_prefix("seen")] = self.fingerprint()
            raise forms.ValidationError(
                "The order changed while this was open; read what it does now and confirm again."
            )
        return cleaned


class PlaceDialogForm(OrderDialogForm):
    preview_template = "admin/orders/order/dialogs/place.html"
    payment = forms.ChoiceField(
        choices=[("charge", "Charge the customer now"), ("on_delivery", "Payment on delivery: leave it due")],
        initial="charge",
        widget=UnfoldAdminRadioSelectWidget,
    )

    def preview(self, order):
        return {"lines": selectors.lines_with_stock(order)}


class TakePaymentDialogForm(OrderDialogForm):
    preview_template = "admin/orders/order/dialogs/take_payment.html"


class ShipDialogForm(OrderDialogForm):
    preview_template = "admin/orders/order/dialogs/ship.html"


class CompleteDialogForm(OrderDialogForm):
    preview_template = "admin/orders/order/dialogs/complete.html"


class CancelDialogForm(OrderDialogForm):
    preview_template = "admin/orders/order/dialogs/cancel.html"
    reason = forms.CharField(
        help_text="Kept with the refund and in the order's history.",
        widget=UnfoldAdminTextInputWidget,
        error_messages={"required": "Say why the order is cancelled."},
    )

    def preview(self, order):
        return selectors.cancellation_preview(order)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the order is cancelled.")
        return reason


class OrderNoteForm(forms.Form):
    text = forms.CharField(label="Add a note", widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}))


class RefundForm(forms.Form):
    """Money back, goods back, or both. Per line: how many units, and what happens to them (only once
    the order has shipped can anything come back). The amount: the full refundable amount, or a given
    amount, or (left empty) the value of the lines chosen, tax included."""

    full = forms.BooleanField(
        label="Refund everything that is left", required=False, widget=UnfoldBooleanSwitchWidget
    )
    amount = forms.DecimalField(
        label="Amount to refund",
        required=False,
        min_value=Decimal("0.00"),
        max_digits=12,
        decimal_places=2,
        help_text="Empty: the value of the lines chosen below, tax included.",
        widget=UnfoldAdminDecimalFieldWidget,
    )
    reason = forms.CharField(
        help_text="Why: kept with the refund, the return and the order's history.",
        widget=UnfoldAdminTextInputWidget,
        error_messages={"required": "Say why: a reason is required."},
    )

    def __init__(self, *args, order: Order, refundable: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.order, self.refundable = order, refundable
        self.lines = selectors.returnable_lines(order)
        goods = GOODS_CHOICES if order.shipped_at else GOODS_CHOICES[:1]
        for line in self.lines:
            self.fields[f"quantity_{line.pk}"] = forms.IntegerField(
                min_value=0,
                max_value=line.returnable,
                initial=0,
                required=False,
                widget=UnfoldAdminIntegerFieldWidget(attrs={"data-unit-price": str(line.unit_price)}),
            )
            self.fields[f"goods_{line.pk}"] = forms.ChoiceField(
                choices=goods, initial=NOT_RETURNED, widget=UnfoldAdminSelectWidget
            )

    def line_rows(self):
        return [(line, self[f"quantity_{line.pk}"], self[f"goods_{line.pk}"]) for line in self.lines]

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why: a reason is required.")
        return reason

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        chosen, returns = Decimal("0.00"), {}
        for line in self.lines:
            quantity = data.get(f"quantity_{line.pk}") or 0
            if quantity:
                value = line.unit_price * quantity
                chosen += value + tax_for(value)
                if data.get(f"goods_{line.pk}") != NOT_RETURNED:
                    returns[line.pk] = (quantity, data[f"goods_{line.pk}"])
        if data.get("full"):
            amount = self.refundable
        elif data.get("amount") is not None:
            amount = data["amount"]
        else:
            amount = min(chosen, self.refundable)
        if not amount and not returns:
            raise forms.ValidationError("Choose lines, give an amount, or refund everything that is left.")
        data["refund_amount"], data["returns"] = amount, returns
        return data
