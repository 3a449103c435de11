"""Refunds and returns: money given back to the charges it came from, goods coming back.

One operation covers both, as support meets them: an amount (the full refundable amount, the value of
some lines, or any amount up to what is refundable), the charges it goes back to (newest first, never
more than a charge captured minus what was refunded from it), and, once the order has shipped, the
goods that came back per line: back to stock, or written off as damaged (a ``return`` movement then a
``write_off`` one, so the ledger shows both). A return is its own record (``OrderReturn``), with or
without a refund. A reason is required. The refund is what the customer no longer owes: the order's
total goes down by it, and the order is then "partially refunded", or "refunded" when nothing is left.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.db import transaction
from django.db.models import Sum

from inventory.models import StockMovement
from inventory.services import stock_apply

from .. import billing
from ..billing import settler
from ..models import Operation, Order, OrderReturn, OrderReturnLine, OrderStatus, Payment
from ..signals import order_refunded
from .common import OrderError, lock_order, order_write, required_reason
from .holds import order_refund_hold

ZERO = Decimal("0.00")
REFUNDABLE_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.SHIPPED,
    OrderStatus.COMPLETED,
)
Disposition = OrderReturnLine.Disposition


@dataclass
class ReturnedLine:
    line: object  # OrderItem
    quantity: int
    disposition: str


@dataclass
class RefundPlan:
    """What ``order_refund`` would do, for support to read before confirming."""

    order: Order
    amount: Decimal
    reason: str
    refundable: Decimal
    charges: list = field(default_factory=list)  # (charge Payment, amount given back to it)
    returns: list = field(default_factory=list)  # ReturnedLine

    @property
    def total_after(self) -> Decimal:
        return self.order.total - self.amount

    @property
    def status_after(self) -> str:
        if not self.amount:
            return self.order.get_status_display()
        return OrderStatus(
            OrderStatus.REFUNDED if self.total_after == 0 else OrderStatus.PARTIALLY_REFUNDED
        ).label

    @property
    def restocked(self) -> list:
        return [r for r in self.returns if r.disposition == Disposition.RESTOCK]

    @property
    def written_off(self) -> list:
        return [r for r in self.returns if r.disposition == Disposition.WRITE_OFF]


def returned_quantities(order: Order) -> dict:
    """{order line id: units returned} over the order's returns that did not fail."""
    rows = (
        OrderReturnLine.objects.filter(order_return__order=order)
        .exclude(order_return__status=Operation.FAILED)
        .values("line_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["line_id"]: row["units"] for row in rows}


def order_refund_preview(*, order: Order, amount, reason: str = "", returns=None) -> RefundPlan:
    """Check a refund and/or return and say what it would do; writes nothing. ``returns`` maps order
    lines (or their ids) to (quantity, disposition)."""
    amount = Decimal(amount or 0)
    if amount < 0:
        raise OrderError("A refund can't be below zero.")
    returned = _returned_lines(order, returns or {})
    if not amount and not returned:
        raise OrderError("Nothing to do: give an amount to refund, or the goods that came back.")
    if order.status not in REFUNDABLE_STATUSES:
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()}: only paid orders are refunded "
            f"(cancel an order that was never paid)."
        )
    if returned and not order.shipped_at:
        raise OrderError(
            f"Order {order.number} hasn't shipped, so nothing can come back: change its lines or cancel it."
        )
    charges = billing.charges_refundable(order)
    refundable = min(sum((c.refundable for c in charges), ZERO), order.total)
    if amount > refundable:
        raise OrderError(f"{amount} is more than can be refunded on {order.number}: {refundable} is left.")
    return RefundPlan(
        order=order,
        amount=amount,
        reason=reason,
        refundable=refundable,
        charges=billing.refunds_allocate(order, amount) if amount else [],
        returns=returned,
    )


def _returned_lines(order: Order, returns) -> list[ReturnedLine]:
    lines = {line.pk: line for line in order.items.select_related("product")}
    already = returned_quantities(order)
    result = []
    for key, (quantity, disposition) in returns.items():
        line = lines.get(getattr(key, "pk", None) or _int(key))
        quantity = int(quantity or 0)
        if not quantity:
            continue
        if line is None:
            raise OrderError(f"Line {key} is not on order {order.number}.")
        if disposition not in Disposition.values:
            raise OrderError(
                f"Say what happens to the returned {line.product.name}: back to stock or written off."
            )
        left = line.quantity - already.get(line.pk, 0)
        if not 0 < quantity <= left:
            raise OrderError(
                f"{quantity} x {line.product.name} can't come back: {left} of {line.quantity} are still out."
            )
        result.append(ReturnedLine(line, quantity, disposition))
    return result


def _int(key):
    try:
        return int(key)
    except (TypeError, ValueError):
        return None


def order_refund(*, order: Order, reason: str, amount=ZERO, returns=None, user=None):
    """Refund ``amount``, take goods back (``returns``: line -> (quantity, disposition)), or both.

    Checked and described by ``order_refund_preview``. The refunds are written pending and committed
    (a concurrent refund of the same order counts them), sent to the provider, then settled: the
    order's total goes down by what went back and the goods are taken in. Raises ``PaymentDeclined``
    (nothing changed, the return is marked failed) or ``PaymentPending``. A refund above the shop's
    approval rule is not made: the change request that waits for it is returned instead.
    """
    reason = required_reason(reason, "money or goods come back")
    with transaction.atomic():
        order = lock_order(order)
        billing.refuse_while_pending(order, except_purpose=Payment.Purpose.REFUND)
        plan = order_refund_preview(order=order, amount=amount, reason=reason, returns=returns)
        held = order_refund_hold(plan=plan, user=user)
        if held is not None:
            return held
        order_return = None
        if plan.returns:
            order_return = OrderReturn.objects.create(
                order=order,
                user=user if getattr(user, "is_authenticated", False) else None,
                status=Operation.PENDING if plan.amount else Operation.DONE,
                reason=reason,
            )
            OrderReturnLine.objects.bulk_create(
                [
                    OrderReturnLine(
                        order_return=order_return, line=r.line, quantity=r.quantity, disposition=r.disposition
                    )
                    for r in plan.returns
                ]
            )
        if not plan.amount:
            _take_back(order, order_return, user=user)
            return order
        batch = billing.new_batch()
        payments = billing.refunds_open(
            order=order,
            amount=plan.amount,
            purpose=Payment.Purpose.REFUND,
            batch=batch,
            user=user,
            reason=reason,
            order_return=order_return,
        )
    settlement = billing.payments_carry_out(batch, payments=payments)
    settlement.raise_unless_succeeded(
        pending=f"The payment provider didn't answer: the refund of {plan.amount} on {order.number} is "
        f"finished as soon as it says what it did.",
        refused=f"The refund of {plan.amount} on {order.number} was refused"
        + (": the return was not recorded as received." if order_return else "."),
    )
    return settlement.order


@settler(Payment.Purpose.REFUND)
def _refund_settled(*, order, payments, settlement):
    user = payments[0].user
    if settlement.succeeded:
        credit(
            order,
            settlement.succeeded,
            reason=f"Refund on {order.number}: {payments[0].reason}",
            refund=payments[0].batch,
            user=user,
        )
    order_return = payments[0].order_return
    if order_return is not None:
        if settlement.all_succeeded:
            _take_back(order, order_return, user=user)
            OrderReturn.objects.filter(pk=order_return.pk).update(status=Operation.DONE)
        else:
            OrderReturn.objects.filter(pk=order_return.pk).update(status=Operation.FAILED)


def credit(order: Order, amount: Decimal, *, reason: str, refund, user=None) -> None:
    """``amount`` went back to the customer (``refund``: the batch of payments that did it): they owe
    that much less, and the order says so."""
    total = order.total - amount
    status = OrderStatus.REFUNDED if total == 0 else OrderStatus.PARTIALLY_REFUNDED
    changes = {"credited": order.credited + amount, "total": total, "status": status}
    order_write(order, changes, reason=reason, user=user)
    transaction.on_commit(
        partial(order_refunded.send, sender=Order, order=order, amount=amount, refund=str(refund))
    )


def _take_back(order: Order, order_return: OrderReturn | None, *, user) -> None:
    """The returned goods into the ledger: every unit comes back (``return``), and damaged ones are
    then written off (``write_off``), so the shelf holds only what can be sold."""
    if order_return is None:
        return
    lines = list(order_return.lines.select_related("line"))
    label = f"{order.number} (return {order_return.pk})"
    back, damaged = {}, {}
    for returned in lines:
        pk = returned.line.product_id
        back[pk] = back.get(pk, 0) + returned.quantity
        if returned.disposition == Disposition.WRITE_OFF:
            damaged[pk] = damaged.get(pk, 0) - returned.quantity
    stock_apply(
        changes=back, kind=StockMovement.Kind.RETURN, reason=f"Returned: {label}", user=user, reference=order
    )
    stock_apply(
        changes=damaged,
        kind=StockMovement.Kind.WRITE_OFF,
        reason=f"Written off (damaged): {label}: {order_return.reason}"[:255],
        user=user,
        reference=order,
    )
