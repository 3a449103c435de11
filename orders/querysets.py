from decimal import Decimal

from django.db import models
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

# Orders whose money was taken and not given back: they count as revenue.
REVENUE_STATUSES = ("paid", "shipped", "completed")
OPEN_STATUSES = ("pending", "paid", "shipped")


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
