"""The orders' summary tables (see ``core.summaries``): rows added by triggers on orders and their
lines (``orders/migrations/0004_order_summaries.py``), read by the dashboard's sales figures."""

from django.db import models
from django.db.models import F, Q

from core.tenancy import TenantScoped, tenant_key, tenant_manager


class OrderSummary(TenantScoped):
    """Orders per shop, day and hour they were placed (the site's calendar and clock) and current
    status: how many, and their total."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    folded = models.BooleanField(default=True)
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()  # 0-23
    status = models.CharField(max_length=20)
    orders = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "hour", "status"], condition=Q(folded=True), name="order_summary_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "day"],
                include=["hour", "orders", "amount"],
                name="order_summary_idx",
            ),
            models.Index(fields=["id"], condition=Q(folded=False), name="order_summary_deltas_idx"),
        ]


class ProductSalesSummary(TenantScoped):
    """Units on order lines per shop, day the order was placed (the site's), the order's current status
    and product."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    folded = models.BooleanField(default=True)
    day = models.DateField()
    status = models.CharField(max_length=20)
    product_id = models.UUIDField()
    units = models.BigIntegerField(default=0)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "status", "product_id"],
                condition=Q(folded=True),
                name="product_sales_summary_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "day"], include=["product_id", "units"], name="product_sales_idx"
            ),
            models.Index(fields=["id"], condition=Q(folded=False), name="product_sales_deltas_idx"),
        ]


class ProductSalesWindow(TenantScoped):
    """Units each product sold (on orders in revenue statuses) since ``SalesWindowStart.first_day``: the
    top products of the last 30 days read the first rows of an index instead of summing every day."""

    folded = models.BooleanField(default=True)
    product_id = models.UUIDField()
    units = models.BigIntegerField(default=0)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "product_id"], condition=Q(folded=True), name="product_sales_window_key"
            )
        ]
        indexes = [
            models.Index(
                F("tenant"),
                F("units").desc(),
                F("product_id"),
                condition=Q(folded=True),
                name="sales_window_top_idx",
            ),
            models.Index(
                fields=["tenant", "product_id"], condition=Q(folded=False), name="sales_window_deltas_idx"
            ),
        ]


class SalesWindowStart(models.Model):
    """The first day (the site's) the sales window counts; moved on each day by ``summaries_fold``."""

    first_day = models.DateField()

    def __str__(self):
        return f"Sales window from {self.first_day}"
