"""Order changes a shop may want approved (``approvals``): a refund above an amount, a status change
of more orders at once than its bulk rule. The services call these before they write anything;
``orders.approvable`` makes the change once approved, through the same service."""

from decimal import Decimal

from approvals.gate import Measure, approval_needed, change_request_hold, rules_matched
from approvals.kinds import bulk_measure
from approvals.values import snapshot
from core.money import format_money

from ..models import Order, OrderReturnLine, OrderStatus

REFUND_AMOUNT = "refund_amount"
REFUND, CANCEL, BULK_TRANSITION = "orders.order_refund", "orders.order_cancel", "orders.order_bulk_transition"


def refund_measure(amount) -> Measure | None:
    amount = Decimal(amount or 0)
    if not amount:
        return None  # goods taken back without money: nothing a refund rule measures
    return Measure(REFUND_AMOUNT, amount, f"a refund of {format_money(amount)}")


def refund_approval_notice(plan) -> str | None:
    """For the refund page's review: why this refund would wait for approval, or None."""
    matched = rules_matched([refund_measure(plan.amount)])
    if not matched:
        return None
    return (
        f"This refund waits for another person's approval ({'; '.join(m.text for m in matched)}): "
        "no money moves until someone else approves it, and they read your reason."
    )


def order_refund_hold(*, plan, user):
    """A refund above the shop's rule waits, whole (the goods that came back with it too)."""
    order = plan.order
    dispositions = dict(OrderReturnLine.Disposition.choices)
    changes = [
        {"record": order.number, "field": "refunded", "old": "", "new": format_money(plan.amount)},
        {
            "record": order.number,
            "field": "total",
            "old": format_money(order.total),
            "new": format_money(plan.total_after),
        },
        {
            "record": order.number,
            "field": "status",
            "old": order.get_status_display(),
            "new": plan.status_after,
        },
        *(
            {
                "record": f"{order.number}: {r.line.product.name}",
                "field": "came back",
                "old": "",
                "new": f"{r.quantity} ({dispositions[r.disposition].lower()})",
            }
            for r in plan.returns
        ),
    ]
    return change_request_hold(
        operation=REFUND,
        measures=[refund_measure(plan.amount)],
        title=f"Refund of {format_money(plan.amount)} on {order.number}",
        why=plan.reason,
        user=user,
        model=Order,
        records=[order],
        changes=changes,
        expected=snapshot([order], ["status", "total", "credited"]),
        payload={
            "order": str(order.pk),
            "amount": str(plan.amount),
            "returns": {str(r.line.pk): [r.quantity, r.disposition] for r in plan.returns},
            "reason": plan.reason,
        },
    )


def order_cancel_hold(*, order: Order, refundable, reason: str, user):
    """Cancelling a paid order refunds what was paid: above the shop's refund rule it waits."""
    return change_request_hold(
        operation=CANCEL,
        measures=[refund_measure(refundable)],
        title=f"Cancellation of {order.number} (refund of {format_money(refundable)})",
        why=reason,
        user=user,
        model=Order,
        records=[order],
        changes=[
            {"record": order.number, "field": "refunded", "old": "", "new": format_money(refundable)},
            {
                "record": order.number,
                "field": "status",
                "old": order.get_status_display(),
                "new": OrderStatus.CANCELLED.label,
            },
        ],
        expected=snapshot([order], ["status", "total", "credited"]),
        payload={"order": str(order.pk), "reason": reason},
    )


def bulk_transition_approval_notice(count: int, largest_refund=None) -> str | None:
    """For a bulk action's confirmation: why changing ``count`` orders (a bulk cancel: the largest of
    its refunds too) would wait, or None."""
    return approval_needed([bulk_measure(count), refund_measure(largest_refund)])


def order_bulk_transition_hold(
    *, orders: list[Order], to, title: str, reason: str, user, why: str, largest_refund=None
):
    """A status change of more orders than the shop's bulk rule, or a bulk cancel one of whose refunds
    is above its refund rule (``largest_refund``): the orders it would change wait, together."""
    return change_request_hold(
        operation=BULK_TRANSITION,
        measures=[bulk_measure(len(orders)), refund_measure(largest_refund)],
        title=f"{title} of {len(orders)} order(s)",
        why=why,
        user=user,
        model=Order,
        records=orders,
        changes=[
            {"record": o.number, "field": "status", "old": o.get_status_display(), "new": to.label}
            for o in orders
        ],
        expected=snapshot(orders, ["status"]),
        payload={"orders": [str(o.pk) for o in orders], "to": str(to), "reason": reason},
    )
