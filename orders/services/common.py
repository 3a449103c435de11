"""What the order services share: their error, money arithmetic, quantities and the order's lock."""

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from core.exceptions import DomainError
from inventory.services import CatalogueError, product_pk

from ..models import Order

CENT = Decimal("0.01")


class OrderError(DomainError):
    pass


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_for(subtotal: Decimal) -> Decimal:
    return money(subtotal * settings.ORDER_TAX_RATE)


def as_quantities(lines) -> dict:
    """{product id: quantity} from a mapping or an iterable of (product or id, quantity).

    Ids may be UUIDs or their text (as JSON and forms carry them), quantities whole numbers or their
    text; anything else is refused with a message saying which value was wrong."""
    if isinstance(lines, str | bytes) or not isinstance(lines, Mapping | Iterable):
        raise OrderError(f"Order lines must map products to quantities, not {lines!r}.")
    items = lines.items() if isinstance(lines, Mapping) else lines
    quantities: dict = {}
    for item in items:
        try:
            product, quantity = item
        except (TypeError, ValueError):
            raise OrderError(f"An order line must be a (product, quantity) pair, not {item!r}.") from None
        pk = _product_pk(product)
        quantities[pk] = quantities.get(pk, 0) + _whole_number(quantity, product)
    return quantities


def _product_pk(value):
    try:
        return product_pk(value)
    except CatalogueError as error:
        raise OrderError(str(error)) from None


def _whole_number(value, product) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    if isinstance(value, Decimal | float):
        try:
            if value == int(value):
                return int(value)
        except (ValueError, OverflowError):
            pass
    raise OrderError(
        f"The quantity of product {getattr(product, 'pk', product)} must be a whole number, not {value!r}."
    )


def order_pk(value) -> int:
    """An order's id given as an order, a number or a number's text; anything else is refused."""
    if isinstance(value, Order):
        return value.pk
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise OrderError(f"{value!r} is not an order id: give an order or its number id (like 42).")


def lock_order(order: Order) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order.pk)
    except Order.DoesNotExist as error:
        raise OrderError(f"Order {order} no longer exists.") from error
