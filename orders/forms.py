"""Forms of the orders desk's admin."""

from django import forms
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from unfold.forms import BaseDialogForm

from .models import Order, OrderStatus
from .selectors import order_transition_effects


class OrderTransitionForm(BaseDialogForm):
    """The dialog of a status button on an order's page: it says what the change does to money and
    stock, and only confirming it (a POST with the CSRF token) changes anything. If the order changed
    while the dialog was open, so that the change would now do something else, it is refused and the
    dialog says what it would do now."""

    target: str = ""
    form_before_template = "admin/orders/order/transition_effects.html"
    effects_shown = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, request, object_id=None, *args, **kwargs):
        super().__init__(request, object_id, *args, **kwargs)
        order = None
        if object_id is not None:
            try:
                order = Order.objects.filter(pk=unquote(str(object_id))).first()
            except (ValueError, ValidationError):
                order = None
        self.effects = (
            order_transition_effects(order, self.target) if order is not None else "This order doesn't exist."
        )
        self.fields["effects_shown"].initial = self.effects

    def get_before_template_context(self, request, object_id=None):
        return {"effects": self.effects, "errors": self.non_field_errors() if self.is_bound else []}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("effects_shown") != self.effects:
            # Show (and, confirmed again, do) what it does now.
            self.data = self.data.copy()
            self.data[self.add_prefix("effects_shown")] = self.effects
            raise ValidationError(
                "The order changed while this was open; read what it does now and confirm again."
            )
        return cleaned


def order_transition_form(to: OrderStatus) -> type[OrderTransitionForm]:
    return type(f"Order{to.name.title()}Form", (OrderTransitionForm,), {"target": to})
