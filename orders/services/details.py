"""An order's details (address, a draft's customer) and staff notes."""

from django.db import transaction

from ..models import Order, OrderNote, OrderStatus
from .common import OrderError, lock_order, normalise_text, order_write


def order_update(*, order: Order, data: dict, user=None, reason: str | None = None) -> Order:
    """What the order's page edits itself: the delivery address (until the order has left) and a
    draft's customer. Only what differs is written (with line endings as a browser sends them made
    plain, so an unchanged address is no change); status, lines and money change through their own
    services, never here."""
    refused = sorted(set(data) - {"shipping_address", "customer"})
    if refused:
        raise OrderError(f"{', '.join(refused)} of an order change through its actions, not by editing.")
    with transaction.atomic():
        order = lock_order(order)
        changes = {}
        if data.get("shipping_address") is not None:
            address = normalise_text(data["shipping_address"])
            if address != order.shipping_address:
                if order.status not in (OrderStatus.DRAFT, OrderStatus.PENDING, OrderStatus.PAID):
                    raise OrderError(f"Order {order.number} has left: its address can't change any more.")
                changes["shipping_address"] = address
        customer = data.get("customer")
        if customer is not None and customer.pk != order.customer_id:
            if order.status != OrderStatus.DRAFT:
                raise OrderError(f"Order {order.number} is placed: its customer can't change.")
            changes["customer"] = customer
        if changes:
            names = ", ".join(name.replace("_", " ") for name in changes)
            order_write(order, changes, reason=reason or f"Order {order.number}: {names} changed", user=user)
    return order


def order_note_add(*, order: Order, text: str, user=None) -> OrderNote:
    text = normalise_text(text)
    if not text:
        raise OrderError("A note needs some text.")
    return OrderNote.objects.create(
        order=order, text=text, author=user if getattr(user, "is_authenticated", False) else None
    )
