from decimal import Decimal

from django.db import models
from django.db.models import Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

# Orders whose money was taken and not (all) given back: their total counts as revenue.
REVENUE_STATUSES = ("paid", "partially_refunded", "shipped", "completed")
# Orders not settled yet: to be paid, to be shipped or on their way (partly refunded ones too, shipped
# or not). Drafts are not orders yet.
OPEN_STATUSES = ("pending", "paid", "partially_refunded", "shipped")
ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def _payments_sum(kind: str):
    """The succeeded payments of ``kind`` of the order in the outer query, summed (0 when none)."""
    from .models import Payment

    payments = Payment.objects.filter(order=OuterRef("pk"), kind=kind, status=Payment.Status.SUCCEEDED)
    summed = payments.order_by().values("order").annotate(s=Sum("amount")).values("s")[:1]
    return Coalesce(Subquery(summed, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD)


class CustomerQuerySet(models.QuerySet):
    def with_order_stats(self):
        from .models import Order

        orders = Order.objects.filter(customer=OuterRef("pk")).values("customer")
        return self.annotate(
            order_count=Coalesce(
                Subquery(orders.annotate(n=Count("id")).values("n")[:1], output_field=IntegerField()),
                Value(0),
            ),
            lifetime_value=Coalesce(
                Subquery(
                    orders.filter(status__in=REVENUE_STATUSES).annotate(v=Sum("total")).values("v")[:1],
                    output_field=DecimalField(max_digits=14, decimal_places=2),
                ),
                Value(Decimal("0.00")),
            ),
        )


class OrderQuerySet(models.QuerySet):
    def with_money(self):
        """``paid`` (succeeded charges), ``refunded`` (succeeded refunds) and ``balance`` (total - paid
        + refunded: above zero the customer owes us, below zero we owe them), from the payments
        ledger, in the same query (one indexed sub-select per figure and row)."""
        return self.annotate(paid=_payments_sum("charge"), refunded=_payments_sum("refund")).annotate(
            balance=F("total") - F("paid") + F("refunded")
        )

    def revenue(self):
        return self.filter(status__in=REVENUE_STATUSES)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def with_item_count(self):
        from .models import OrderItem

        lines = OrderItem.objects.filter(order=OuterRef("pk")).values("order")
        return self.annotate(
            item_count=Coalesce(
                Subquery(lines.annotate(n=Sum("quantity")).values("n")[:1], output_field=IntegerField()),
                Value(0),
            )
        )


class OrderItemQuerySet(models.QuerySet):
    pass


class PaymentQuerySet(models.QuerySet):
    def succeeded(self):
        return self.filter(status="succeeded")

    def pending(self):
        return self.filter(status="pending")

    def not_failed(self):
        return self.exclude(status="failed")

    def charges_with_refundable(self):
        """Succeeded charges with ``refunded`` (their refunds not failed: pending ones are spoken for)
        and ``refundable`` (what is left to give back of each)."""
        from .models import Payment

        refunds = (
            Payment.objects.filter(charge=OuterRef("pk"))
            .exclude(status="failed")
            .order_by()
            .values("charge")
            .annotate(s=Sum("amount"))
            .values("s")[:1]
        )
        return (
            self.filter(kind="charge", status="succeeded")
            .annotate(
                refunded=Coalesce(
                    Subquery(refunds, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
                )
            )
            .annotate(refundable=F("amount") - F("refunded"))
        )

    def totals(self) -> dict:
        """{"paid", "refunded", "pending"} of these payments, in one aggregate."""
        return self.aggregate(
            paid=Coalesce(Sum("amount", filter=Q(kind="charge", status="succeeded")), Value(ZERO)),
            refunded=Coalesce(Sum("amount", filter=Q(kind="refund", status="succeeded")), Value(ZERO)),
            pending=Count("id", filter=Q(status="pending")),
        )
