"""Shipping, completing and cancelling orders, one or many."""

from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.utils import timezone

from audit.models import ChangeSet
from audit.recording import change_set_recording, recording_change_set
from audit.undo import UndoRefused
from core.exceptions import DomainError
from inventory.models import StockMovement
from inventory.services import stock_apply

from .. import billing
from ..billing import settler
from ..models import Order, OrderStatus, Payment
from ..signals import order_cancelled, order_shipped
from .common import (
    ZERO,
    OrderError,
    allowed_transitions,
    check_transition,
    lock_order,
    order_pk,
    order_write,
    required_reason,
)
from .holds import order_bulk_transition_hold, order_cancel_hold
from .refunds import credit, returned_quantities


# --- Shipping and completing ----------------------------------------------------------------------------
def order_ship(*, order: Order, user=None) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        _ship(order, user=user)
    return order


def order_complete(*, order: Order, user=None) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        _complete(order, user=user)
    return order


def _ship(order: Order, *, user=None, reason=None) -> None:
    check_transition(order, OrderStatus.SHIPPED)
    billing.refuse_while_pending(order)
    order_write(
        order,
        {"status": OrderStatus.SHIPPED, "shipped_at": timezone.now()},
        reason=reason or f"Order {order.number} shipped",
        user=user,
    )
    transaction.on_commit(partial(order_shipped.send, sender=Order, order=order))


def _complete(order: Order, *, user=None, reason=None) -> None:
    check_transition(order, OrderStatus.COMPLETED)
    order_write(
        order,
        {"status": OrderStatus.COMPLETED},
        reason=reason or f"Order {order.number} completed",
        user=user,
    )


# --- Cancelling --------------------------------------------------------------------------------------------
def order_cancel(*, order: Order, reason: str, user=None):
    """Cancel an order that hasn't shipped: what the customer paid is refunded to its charges, the
    stock of its lines comes back, and nothing is owed any more. The refunds go first; the order is
    cancelled once they succeeded (``PaymentDeclined``: nothing changed; ``PaymentPending``: it is
    cancelled when the provider's answer is known). A refund above the shop's approval rule waits:
    the change request is returned instead."""
    reason = required_reason(reason, "the order is cancelled")
    with transaction.atomic():
        order = lock_order(order)
        check_transition(order, OrderStatus.CANCELLED)
        billing.refuse_while_pending(order)
        refundable = billing.order_refundable(order)
        if refundable <= 0:
            _cancelled(order, refunded=ZERO, reason=reason, user=user)
            return order
        held = order_cancel_hold(order=order, refundable=refundable, reason=reason, user=user)
        if held is not None:
            return held
        batch = billing.new_batch()
        payments = billing.refunds_open(
            order=order,
            amount=refundable,
            purpose=Payment.Purpose.CANCELLATION,
            batch=batch,
            user=user,
            reason=reason,
        )
    settlement = billing.payments_carry_out(batch, payments=payments)
    settlement.raise_unless_succeeded(
        pending=f"The payment provider didn't answer: {order.number} is cancelled as soon as it says "
        f"the refund went through.",
        refused=f"The refund for {order.number} was refused, so it was not cancelled.",
    )
    return settlement.order


@settler(Payment.Purpose.CANCELLATION)
def _cancellation_settled(*, order, payments, settlement):
    """All refunded: the order is cancelled. Some refused: what went back is credited, and the order
    stays as it was otherwise (support sees the failure and tries again)."""
    user, reason = payments[0].user, payments[0].reason
    if settlement.all_succeeded:
        _cancelled(order, refunded=settlement.succeeded, reason=reason, user=user)
    elif settlement.succeeded:
        credit(
            order,
            settlement.succeeded,
            reason=f"Partial refund of {order.number}: {reason}",
            refund=payments[0].batch,
            user=user,
        )


def _cancelled(order: Order, *, refunded: Decimal, reason: str, user) -> None:
    """The order is off: its remaining stock back on the shelf, nothing owed."""
    if order.status != OrderStatus.DRAFT:  # a draft never took stock
        returned = returned_quantities(order)
        lines = {
            line.product_id: line.quantity - returned.get(line.pk, 0)
            for line in order.items.all()
            if line.quantity > returned.get(line.pk, 0)
        }
        stock_apply(
            changes=lines,
            kind=StockMovement.Kind.CANCELLATION,
            reason=f"Restocked by cancellation of {order.number}",
            user=user,
            reference=order,
        )
    order_write(
        order,
        {"status": OrderStatus.CANCELLED, "credited": order.subtotal + order.tax, "total": ZERO},
        reason=f"Order {order.number} cancelled: {reason}",
        user=user,
    )
    transaction.on_commit(partial(order_cancelled.send, sender=Order, order=order, amount=refunded))


# --- Any status, by name ------------------------------------------------------------------------------
def order_transition(*, order: Order, to: str, user=None, reason: str = "") -> Order:
    """Move ``order`` to status ``to`` through the service that does it: paid (``order_pay``), shipped,
    completed, cancelled (a reason is required) or refunded (everything left to refund, a reason
    required; ``order_refund`` refunds part, or takes goods back)."""
    from .placement import order_pay
    from .refunds import order_refund, order_refund_preview

    to = OrderStatus(to)
    if to == OrderStatus.PAID:
        return order_pay(order=order, user=user)
    if to == OrderStatus.SHIPPED:
        return order_ship(order=order, user=user)
    if to == OrderStatus.COMPLETED:
        return order_complete(order=order, user=user)
    if to == OrderStatus.CANCELLED:
        return order_cancel(order=order, reason=reason, user=user)
    if to == OrderStatus.REFUNDED:
        order = Order.objects.get(pk=order.pk)  # as it is now; order_refund locks it and checks again
        check_transition(order, to)
        everything = order_refund_preview(order=order, amount=order.total, reason=reason).amount
        return order_refund(order=order, amount=everything, reason=reason, user=user)
    raise OrderError(
        f"Orders become {to.label.lower()} only through their own actions (placing, refunding part)."
    )


# --- Many orders at once ----------------------------------------------------------------------------------
BULK_TITLES = {
    OrderStatus.SHIPPED: "Bulk ship",
    OrderStatus.COMPLETED: "Bulk complete",
    OrderStatus.CANCELLED: "Bulk cancel",
}


def order_bulk_transition(*, orders: Iterable, to: str, user=None, reason: str = "", why: str = ""):
    """Ship, complete or cancel several orders as one change set. Every order is checked first: if
    any can't make the change, they are named and nothing changes. Shipping and completing are one
    transaction; cancelling refunds each order separately (money never moves inside a transaction),
    and orders whose refund is refused or unanswered are named in the ``BulkCancelIncomplete`` raised
    at the end (the others are cancelled). More orders than the shop's bulk rule are not changed: the
    change request that waits for approval (``why``: the requester's reason, else ``reason``) is
    returned instead."""
    to = OrderStatus(to)
    if to not in BULK_TITLES:
        raise OrderError(f"Orders can't become {to.label.lower()} in bulk.")
    if to == OrderStatus.CANCELLED:
        reason = required_reason(reason, "the orders are cancelled")
    ids = [order_pk(o) for o in orders]
    current = list(Order.objects.filter(pk__in=ids).order_by("pk"))
    _refuse_unless_allowed(current, to)
    largest_refund = None
    if to == OrderStatus.CANCELLED:
        largest_refund = max((billing.order_refundable(o) for o in current), default=ZERO)
    held = order_bulk_transition_hold(
        orders=current,
        to=to,
        title=BULK_TITLES[to],
        reason=reason,
        user=user,
        why=why or reason,
        largest_refund=largest_refund,
    )
    if held is not None:
        return held
    with (
        transaction.atomic(),
        change_set_recording(kind=ChangeSet.Kind.BULK_ACTION, title=BULK_TITLES[to], user=user) as change_set,
    ):
        locked = list(Order.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        _refuse_unless_allowed(locked, to)
        if to != OrderStatus.CANCELLED:
            for order in locked:
                step = _ship if to == OrderStatus.SHIPPED else _complete
                step(order, user=user, reason=f"{BULK_TITLES[to]}: {order.number}")
            return change_set
    problems = []
    with recording_change_set(change_set):
        for order in locked:
            try:
                order_cancel(order=order, reason=f"{BULK_TITLES[to]}: {reason}", user=user)
            except DomainError as error:
                problems.append(str(error))
    change_set.row_count = change_set.entries.values("content_type_id", "object_id").distinct().count()
    change_set.save(update_fields=["row_count"])
    if problems:
        raise BulkCancelIncomplete(change_set=change_set, problems=problems)
    return change_set


def _refuse_unless_allowed(orders: list[Order], to: OrderStatus) -> None:
    refused = [o for o in orders if to not in allowed_transitions(o)]
    if refused:
        names = ", ".join(f"{o.number} ({o.get_status_display().lower()})" for o in refused[:10])
        more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
        raise OrderError(
            f"Nothing changed: {len(refused)} order(s) can't become {to.label.lower()}: {names}{more}."
        )


class BulkCancelIncomplete(OrderError):
    def __init__(self, *, change_set, problems):
        self.change_set, self.problems = change_set, problems
        super().__init__(f"{len(problems)} order(s) were not cancelled: {' '.join(problems)}")


def order_undo_refuse(*, records, reason, user):
    """What undoing a change set does to orders and their lines (registered with ``audit.registry``):
    it refuses, because their status, stock and money change only through each order's actions."""
    names = ", ".join(record.label for record in records[:10])
    raise UndoRefused(
        f"Orders can't be undone in bulk ({names}): their status, stock and money change only through "
        f"each order's actions. Nothing was changed."
    )
