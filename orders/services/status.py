"""An order's status: which status may follow which, and what each move does to stock and money
(paying charges the customer; cancelling and refunding put the stock back and give the money back)."""

from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction

from audit.models import ChangeSet
from audit.recording import change_set_recording, save_with_reason
from audit.undo import UndoRefused
from inventory.models import StockMovement
from inventory.services import stock_apply

from .. import payments
from ..models import Order, OrderStatus
from ..signals import order_cancelled, order_paid, order_refunded, order_shipped
from .common import OrderError, lock_order, order_pk

# Which status may follow which. Anything else is refused and changes nothing.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.PENDING: (OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PAID: (OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.REFUNDED),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED, OrderStatus.REFUNDED),
    OrderStatus.COMPLETED: (OrderStatus.REFUNDED,),
    OrderStatus.CANCELLED: (),
    OrderStatus.REFUNDED: (),
}
# Statuses in which the customer's money is held by us (so leaving them gives it back).
CHARGED_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
# What reaching a status announces to the apps that follow orders (e-mail to the customer), once the
# transaction commits.
STATUS_SIGNALS = {
    OrderStatus.PAID: order_paid,
    OrderStatus.SHIPPED: order_shipped,
    OrderStatus.CANCELLED: order_cancelled,
    OrderStatus.REFUNDED: order_refunded,
}


def order_transition(*, order: Order, to: str, user=None, reason: str | None = None) -> Order:
    """Move an order to status ``to`` if the transition table allows it.

    Paying charges the customer; cancelling and refunding put the stock back (with ledger
    movements) and give back money that was taken.
    """
    to = OrderStatus(to)
    with transaction.atomic():
        order = lock_order(order)
        _check_transition(order, to)
        _apply_transition(order, to, user=user, reason=reason)
    return order


BULK_TITLES = {
    OrderStatus.PAID: "Bulk mark paid",
    OrderStatus.SHIPPED: "Bulk ship",
    OrderStatus.COMPLETED: "Bulk complete",
    OrderStatus.CANCELLED: "Bulk cancel",
    OrderStatus.REFUNDED: "Bulk refund",
}


def order_bulk_transition(*, orders: Iterable, to: str, user=None) -> ChangeSet:
    """The same transition for several orders, all or nothing, as one change set; refused ones
    are named and nothing changes."""
    to = OrderStatus(to)
    with (
        transaction.atomic(),
        change_set_recording(
            kind=ChangeSet.Kind.BULK_ACTION, title=BULK_TITLES.get(to, f"Bulk {to.label.lower()}"), user=user
        ) as change_set,
    ):
        locked = list(
            Order.objects.select_for_update().filter(pk__in=[order_pk(o) for o in orders]).order_by("pk")
        )
        refused = [o for o in locked if to not in TRANSITIONS[o.status]]
        if refused:
            names = ", ".join(f"{o.number} ({o.get_status_display().lower()})" for o in refused[:10])
            more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
            raise OrderError(
                f"Nothing changed: {len(refused)} order(s) can't become {to.label.lower()}: {names}{more}."
            )
        for order in locked:
            _apply_transition(order, to, user=user, reason=f"{BULK_TITLES[to]}: {order.number}")
    return change_set


def order_transition_refusal(*, order: Order, to) -> str | None:
    """Why ``order`` can't become ``to``, in a sentence; None when the transition table allows it."""
    to = OrderStatus(to)
    allowed = TRANSITIONS[order.status]
    if to in allowed:
        return None
    current = order.get_status_display().lower()
    options = ", ".join(OrderStatus(s).label.lower() for s in allowed) or "nothing (it is final)"
    return (
        f"Order {order.number} is {current} and can't become {to.label.lower()}; "
        f"a {current} order can become: {options}."
    )


def _check_transition(order: Order, to: OrderStatus) -> None:
    refusal = order_transition_refusal(order=order, to=to)
    if refusal:
        raise OrderError(refusal)


def _apply_transition(order: Order, to: OrderStatus, *, user=None, reason=None) -> None:
    gateway = payments.payment_gateway()
    was = order.status
    given_back = Decimal("0.00")
    if to in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        verb = "cancellation" if to == OrderStatus.CANCELLED else "refund"
        lines = dict(order.items.values_list("product_id", "quantity"))
        stock_apply(
            changes=lines,
            kind=StockMovement.Kind.CANCELLATION
            if to == OrderStatus.CANCELLED
            else StockMovement.Kind.REFUND,
            reason=f"Restocked by {verb} of {order.number}",
            user=user,
            reference=order,
        )
        if was in CHARGED_STATUSES and order.payment_reference:
            gateway.refund(
                payment_reference=order.payment_reference,
                amount=order.total,
                currency=settings.ORDER_CURRENCY,
            )
            given_back = order.total
    fields = ["status", "updated_at"]
    if to == OrderStatus.PAID:
        order.payment_reference = gateway.charge(
            amount=order.total, currency=settings.ORDER_CURRENCY, description=order.number
        )
        fields.append("payment_reference")
    order.status = to
    save_with_reason(
        order, update_fields=fields, reason=reason or f"Order {order.number} {to.label.lower()}", user=user
    )
    _announce(order, to, amount=given_back)


def _announce(order: Order, to: OrderStatus, *, amount: Decimal) -> None:
    signal = STATUS_SIGNALS.get(to)
    if signal is None:
        return
    money_back = {"amount": amount} if to in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) else {}
    transaction.on_commit(partial(signal.send, sender=Order, order=order, **money_back))


def order_undo_refuse(*, records, reason, user):
    """What undoing a change set does to orders and their lines (registered with ``audit.registry``):
    it refuses, because their status, stock and money change only through each order's actions."""
    names = ", ".join(record.label for record in records[:10])
    raise UndoRefused(
        f"Orders can't be undone in bulk ({names}): their status, stock and money change only through "
        f"each order's actions. Nothing was changed."
    )
