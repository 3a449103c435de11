"""What the order tests read back, as a person checking the shop would."""

import io

from django.core.management import call_command

from inventory.models import Product
from orders.models import Order


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def money_of(order) -> dict:
    """The order's total and what its payments say: paid, refunded, balance."""
    return Order.objects.with_money().values("total", "paid", "refunded", "balance").get(pk=order.pk)


def reconciles() -> bool:
    """``reconcile_payments`` finds every order agreeing with its payments."""
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    return "Every order agrees with its payments." in out.getvalue()
