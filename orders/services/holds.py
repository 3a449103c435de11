"""Order changes a shop may want approved (``approvals``): a refund above an amount, a status change
of more orders at once than its bulk rule. The services call these before they write anything;
``orders.approvable`` makes the change once approved, through the same service."""

from decimal import Decimal

from approvals.gate import Measure, approval_needed, change_request_hold, rules_matched
from approvals.kinds import bulk_measure
from approvals.values import snapshot
from core.money import format_money

from ..models import Order, OrderReturnLine

REFUND_AMOUNT = "refund_amount"
REFUND, BULK_TRANSITION = "orders.order_refund", "orders.order_bulk_transition"


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


def bulk_transition_approval_notice(count: int) -> str | None:
    """For a bulk action's confirmation: why changing ``count`` orders would wait, or None."""
    return approval_needed([bulk_measure(count)])


def order_bulk_transition_hold(*, orders: list[Order], to, title: str, reason: str, user, why: str):
    """A status change of more orders than the shop's bulk rule: the orders it would change wait."""
    return change_request_hold(
        operation=BULK_TRANSITION,
        measures=[bulk_measure(len(orders))],
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
