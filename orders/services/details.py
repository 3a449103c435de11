"""An order's details (address, a draft's customer) and staff notes; what an edit of the order's page
would clash with, checked before any of its steps writes."""

from django.db import transaction

from audit.conflicts import EditConflict, edit_merge, noting, rows_merge
from audit.versions import Version

from ..models import Order, OrderItem, OrderNote, OrderStatus
from .common import OrderError, lock_order, normalise_text, order_write


def order_update(
    *, order: Order, data: dict, user=None, reason: str | None = None, version: Version | None = None
) -> Order:
    """What the order's page edits itself: the delivery address (until the order has left) and a
    draft's customer, on top of what others saved since ``version`` (what the person opened;
    ``EditConflict`` when they changed the same fields). Only what differs is written (with line
    endings as a browser sends them made plain, so an unchanged address is no change); status, lines
    and money change through their own services, never here."""
    refused = sorted(set(data) - {"shipping_address", "customer"})
    if refused:
        raise OrderError(f"{', '.join(refused)} of an order change through its actions, not by editing.")
    with transaction.atomic():
        order = lock_order(order)
        data = edit_merge(order, data=_plain(data), version=version)
        changes = {}
        if data.get("shipping_address") is not None:
            address = data["shipping_address"]
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


def _plain(data: dict) -> dict:
    if data.get("shipping_address") is None:
        return data
    return {**data, "shipping_address": normalise_text(data["shipping_address"])}


def order_lines_merge(order: Order, *, changed=(), deleted=()) -> None:
    """Under the order's lock (every write of its lines holds it): refuse line edits (``RowEdit``s
    with the versions the person opened) made on lines someone changed or deleted since
    (``EditConflict``, nothing written); else note whose changes stay."""
    if not changed and not deleted:
        return
    current = {line.pk: line for line in order.items.select_related("product")}
    rows_merge(OrderItem, current, changed=changed, deleted=deleted)


def order_page_check(*, order: Order, data=None, version: Version | None = None, changed=(), deleted=()):
    """Every clash of an edit of an order's page (its details and its lines) with what others saved
    since it was opened, as one ``EditConflict``, before any step writes: the lines may move money,
    which happens outside one transaction. Each service checks its own part again under the lock."""
    conflicts = []
    with transaction.atomic(), noting():
        order = lock_order(order)
        for check in (
            lambda: edit_merge(order, data=_plain(data or {}), version=version),
            lambda: order_lines_merge(order, changed=changed, deleted=deleted),
        ):
            try:
                check()
            except EditConflict as conflict:
                conflicts.append(conflict)
    if conflicts:
        raise EditConflict.combine(conflicts)


def order_note_add(*, order: Order, text: str, user=None) -> OrderNote:
    text = normalise_text(text)
    if not text:
        raise OrderError("A note needs some text.")
    return OrderNote.objects.create(
        order=order, text=text, author=user if getattr(user, "is_authenticated", False) else None
    )
