"""What the order services share: the status table, money rounding, the order's lock and its writes
with history, and the errors they raise."""

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.recording import history_batch, history_bulk_record, statement_with_history
from core.exceptions import DomainError
from inventory.services import CatalogueError, product_pk

from ..models import Order, OrderStatus

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class OrderError(DomainError):
    pass


# Which status may follow which. Anything else is refused and changes nothing. A draft becomes
# pending or paid only by being placed (``order_place``); partially refunded and refunded only by a
# refund (``orders.refunds``); ``allowed_transitions`` narrows partially refunded orders by whether
# they have shipped.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.DRAFT: (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PENDING: (OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PAID: (
        OrderStatus.SHIPPED,
        OrderStatus.CANCELLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    ),
    OrderStatus.PARTIALLY_REFUNDED: (
        OrderStatus.SHIPPED,
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    ),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED),
    OrderStatus.COMPLETED: (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED),
    OrderStatus.CANCELLED: (),
    OrderStatus.REFUNDED: (),
}
# Once goods have left, an order can't be cancelled or shipped again, only completed or refunded.
NOT_AFTER_SHIPPING = (OrderStatus.SHIPPED, OrderStatus.CANCELLED)


def allowed_transitions(order: Order) -> tuple[str, ...]:
    allowed = TRANSITIONS[order.status]
    if order.status == OrderStatus.PARTIALLY_REFUNDED:
        if order.shipped_at:
            return tuple(s for s in allowed if s not in NOT_AFTER_SHIPPING)
        return tuple(s for s in allowed if s != OrderStatus.COMPLETED)
    return allowed


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
        pk = as_product_pk(product)
        quantities[pk] = quantities.get(pk, 0) + as_whole_number(quantity, product)
    return quantities


def as_product_pk(value):
    """A product's id from a product, a UUID or its text; anything else is an ``OrderError``."""
    try:
        return product_pk(value)
    except CatalogueError as error:
        raise OrderError(str(error)) from None


def as_whole_number(value, product) -> int:
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


def required_reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OrderError(f"Say why {what}: a reason is required.")
    return reason


def normalise_text(text: str) -> str:
    """Browsers send text areas with CRLF line endings: stored as plain LF, so that an unchanged
    text compares equal."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


# --- Shared steps ---------------------------------------------------------------------------------------
def check_transition(order: Order, to: OrderStatus) -> None:
    allowed = allowed_transitions(order)
    if to not in allowed:
        current = order.get_status_display().lower()
        options = ", ".join(OrderStatus(s).label.lower() for s in allowed) or "nothing (it is final)"
        raise OrderError(
            f"Order {order.number} is {current} and can't become {OrderStatus(to).label.lower()}; "
            f"a {current} order can become: {options}."
        )


def lock_order(order: Order) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order_pk(order))
    except Order.DoesNotExist as error:
        raise OrderError(f"Order {order} no longer exists.") from error


def order_write(order: Order, changes: dict, *, reason: str, user=None) -> None:
    """Write ``changes`` ({field: value}) to a locked order with its history row and audit entry,
    which name exactly the fields that changed."""
    now = timezone.now()
    for name, value in changes.items():
        setattr(order, name, value)
    order.updated_at = now
    values = [getattr(order, order._meta.get_field(name).attname) for name in changes]
    # One statement from the model's own column names (the ORM's UPDATE cost more to build than to
    # run), sent with the history copied from the row and its audit entry in one round trip.
    with history_batch():
        statement_with_history(_order_update(tuple(changes)), [*values, now, order.pk])
        history_bulk_record([order], reason=reason, user=user, changed_fields=list(changes))


@lru_cache(maxsize=64)
def _order_update(fields: tuple[str, ...]) -> str:
    """The UPDATE of an order's ``fields`` and ``updated_at``, built once per set of fields."""
    columns = [*(Order._meta.get_field(name).column for name in fields), "updated_at"]
    assignments = ", ".join(f"{connection.ops.quote_name(column)} = %s" for column in columns)
    return f"UPDATE orders_order SET {assignments} WHERE id = %s"  # noqa: S608 - the model's columns
