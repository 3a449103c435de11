"""An order's details (address, a draft's customer) and staff notes."""

from django.db import transaction

from ..models import Order, OrderNote, OrderStatus
from .common import OrderError, lock_order, normalise_text, order_update


# --- Details and notes -----------------------------------------------------------------------------------
def order_details_set(
    *, order: Order, shipping_address: str | None = None, customer=None, user=None
) -> Order:
    """Change the address (any order not shipped) or the customer (a draft); only what differs is
    written, with line endings as typed in a browser made plain."""
    with transaction.atomic():
        order = lock_order(order)
        changes = {}
        if shipping_address is not None:
            address = normalise_text(shipping_address)
            if address != order.shipping_address:
                if order.status not in (OrderStatus.DRAFT, OrderStatus.PENDING, OrderStatus.PAID):
                    raise OrderError(f"Order {order.number} has left: its address can't change any more.")
                changes["shipping_address"] = address
        if customer is not None and customer.pk != order.customer_id:
            if order.status != OrderStatus.DRAFT:
                raise OrderError(f"Order {order.number} is placed: its customer can't change.")
            changes["customer"] = customer
        if changes:
            names = ", ".join(name.replace("_", " ") for name in changes)
            order_update(order, changes, reason=f"Order {order.number}: {names} changed", user=user)
    return order


def order_note_add(*, order: Order, text: str, user=None) -> OrderNote:
    text = normalise_text(text)
    if not text:
        raise OrderError("A note needs some text.")
    return OrderNote.objects.create(
        order=order, text=text, author=user if getattr(user, "is_authenticated", False) else None
    )
