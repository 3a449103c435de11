"""The stock's summary tables (see ``core.summaries``): rows added by triggers on products and stock
movements (``inventory/migrations/0008_stock_summaries.py``), read by the dashboard's stock figures."""

from django.db import models
from django.db.models import Q

from core.tenancy import TenantScoped, tenant_key, tenant_manager


class StockSummary(TenantScoped):
    """The catalogue's totals per shop: products, out of and low on stock, and the stock's value."""

    folded = models.BooleanField(default=True)
    products = models.BigIntegerField(default=0)
    out_of_stock = models.BigIntegerField(default=0)
    low_stock = models.BigIntegerField(default=0)
    stock_value = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=Q(folded=True), name="stock_summary_key")
        ]
        indexes = [models.Index(fields=["tenant"], name="stock_summary_tenant_idx")]


class StockFlowSummary(TenantScoped):
    """Units moved per shop, day (the site's) and kind of movement: in (positive) and out (negative)."""

    tenant = tenant_key(db_index=False)  # its indexes start with the shop
    folded = models.BooleanField(default=True)
    day = models.DateField()
    kind = models.CharField(max_length=20)
    units_in = models.BigIntegerField(default=0)
    units_out = models.BigIntegerField(default=0)

    objects = tenant_manager(models.QuerySet)

    class Meta(TenantScoped.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "kind"], condition=Q(folded=True), name="stock_flow_summary_key"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "day"], include=["kind", "units_in", "units_out"], name="stock_flow_day_idx"
            ),
            models.Index(fields=["id"], condition=Q(folded=False), name="stock_flow_deltas_idx"),
        ]
