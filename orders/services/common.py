"""What the order services share: their error, money arithmetic, quantities and the order's lock."""

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from core.exceptions import DomainError

from ..models import Order

CENT = Decimal("0.01")


class OrderError(DomainError):
    pass


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_for(subtotal: Decimal) -> Decimal:
    return money(subtotal * settings.ORDER_TAX_RATE)


def as_quantities(lines) -> dict:
    """{product_id: quantity} from a mapping or an iterable of (product or id, quantity)."""
    items = lines.items() if isinstance(lines, Mapping) else lines
    quantities: dict = {}
    for product, quantity in items:
        pk = getattr(product, "pk", product)
        if int(quantity) != quantity:
            raise OrderError("Quantities must be whole numbers.")
        quantities[pk] = quantities.get(pk, 0) + int(quantity)
    return quantities


def lock_order(order: Order) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order.pk)
    except Order.DoesNotExist as error:
        raise OrderError(f"Order {order} no longer exists.") from error
