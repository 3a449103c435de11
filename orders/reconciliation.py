"""Does every order agree with its payments? What ``reconcile_payments`` checks, as reads.

An order's money is its payments (``Payment``): what was charged and refunded, succeeded. Its status
and total must agree with them:

- a draft has no money taken; an order awaiting payment has nothing net paid;
- a paid, partially refunded, shipped or completed order owes nothing and is owed nothing
  (balance = total - paid + refunded = 0);
- a cancelled or refunded order owes nothing (total 0) and got back all it paid; a refunded one had
  paid something; a partially refunded one got something back and still has a total;
- no charge had more refunded from it than it captured, and a refund goes back to a charge of its own
  order;
- no payment stays pending past ``PAYMENT_PENDING_SECONDS`` (the periodic resolution settles them).

Orders with a payment under way are checked once it is settled.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from .models import Order, OrderStatus, Payment

SETTLED = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
ENDED = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
RULES = [
    (Q(status=OrderStatus.DRAFT) & (~Q(paid=0) | ~Q(refunded=0)), "a draft with money taken"),
    (Q(status=OrderStatus.PENDING) & ~Q(paid=F("refunded")), "awaiting payment but money is held"),
    (Q(status__in=SETTLED) & ~Q(balance=0), "the balance should be 0"),
    (Q(status__in=ENDED) & ~Q(total=0), "the total should be 0"),
    (Q(status__in=ENDED) & ~Q(paid=F("refunded")), "everything paid should have been refunded"),
    (Q(status=OrderStatus.REFUNDED) & Q(paid=0), "refunded, but nothing was ever paid"),
    (Q(status=OrderStatus.PARTIALLY_REFUNDED) & (Q(refunded=0) | Q(total=0)), "not a partial refund"),
]


@dataclass
class Mismatch:
    number: str
    status: str
    total: Decimal
    paid: Decimal
    refunded: Decimal
    problem: str


def payment_mismatches():
    """Every disagreement, order by order (orders streamed in chunks, two queries for the charges and
    the stale payments)."""
    pending = Payment.objects.filter(order=OuterRef("pk"), status=Payment.Status.PENDING)
    orders = (
        Order.objects.with_money()
        .annotate(in_flight=Exists(pending))
        .filter(in_flight=False)
        .filter(_any(condition for condition, _ in RULES))
        .order_by("pk")
    )
    for order in orders.iterator(chunk_size=2000):
        problems = [text for condition, text in RULES if _holds(order, condition)]
        yield Mismatch(
            order.number, order.status, order.total, order.paid, order.refunded, "; ".join(problems)
        )
    yield from _over_refunded_charges()
    yield from _stale_payments()


def _any(conditions):
    combined = Q()
    for condition in conditions:
        combined |= condition
    return combined


def _holds(order, node) -> bool:
    """The rule ``node`` evaluated on the order's fetched values, to say which one it breaks (asking
    the database again would cost a query per rule and order)."""
    results = []
    for child in node.children:
        if isinstance(child, Q):
            results.append(_holds(order, child))
        else:
            lookup, expected = child
            name, _, op = lookup.partition("__")
            value = getattr(order, name)
            if isinstance(expected, F):
                expected = getattr(order, expected.name)
            results.append(value in expected if op == "in" else value == expected)
    result = all(results) if node.connector == Q.AND else any(results)
    return not result if node.negated else result


def _over_refunded_charges():
    refunds = (
        Payment.objects.filter(charge=OuterRef("pk"), status=Payment.Status.SUCCEEDED)
        .order_by()
        .values("charge")
        .annotate(s=Sum("amount"))
        .values("s")[:1]
    )
    others = Payment.objects.filter(charge=OuterRef("pk")).exclude(order=OuterRef("order"))
    charges = (
        Payment.objects.filter(kind=Payment.Kind.CHARGE, status=Payment.Status.SUCCEEDED)
        .annotate(refunded=Subquery(refunds), foreign=Exists(others))
        .filter(Q(refunded__gt=F("amount")) | Q(foreign=True))
        .select_related("order")
    )
    for charge in charges:
        order = charge.order
        problem = (
            f"charge {charge.gateway_reference} captured {charge.amount} but {charge.refunded} was "
            "refunded from it"
            if charge.refunded and charge.refunded > charge.amount
            else f"charge {charge.gateway_reference} has refunds recorded on another order"
        )
        yield Mismatch(order.number, order.status, order.total, Decimal("0"), Decimal("0"), problem)


def _stale_payments():
    cutoff = timezone.now() - timedelta(seconds=settings.PAYMENT_PENDING_SECONDS)
    stale = (
        Payment.objects.filter(status=Payment.Status.PENDING, created_at__lt=cutoff)
        .values("order__number", "order__status", "order__total")
        .annotate(count=Count("id"))
        .order_by("order__number")
    )
    for row in stale:
        yield Mismatch(
            row["order__number"],
            row["order__status"],
            row["order__total"],
            Decimal("0"),
            Decimal("0"),
            f"{row['count']} payment(s) pending for more than {settings.PAYMENT_PENDING_SECONDS} s: "
            "is the periodic task (orders.resolve_pending_payments) running?",
        )
