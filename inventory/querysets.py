from decimal import Decimal

from django.db import models
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce

from core.locking import locked_in_pk_order

from .stock_state import STOCK_STATE_CONDITIONS, StockState, stock_state_expression


class CategoryQuerySet(models.QuerySet):
    def with_product_count(self):
        return self.annotate(product_count=Count("products", distinct=True))

    def descendant_ids(self, category) -> set[int]:
        """Ids of ``category`` and every category below it (one query: the tree is small)."""
        children: dict[int | None, list[int]] = {}
        for pk, parent_id in self.model.objects.values_list("pk", "parent_id"):
            children.setdefault(parent_id, []).append(pk)
        found, todo = set(), [category.pk]
        while todo:
            pk = todo.pop()
            if pk not in found:
                found.add(pk)
                todo.extend(children.get(pk, []))
        return found


class ProductQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)

    def featured(self):
        return self.filter(is_featured=True)

    def in_stock(self):
        return self.filter(stock__gt=0)

    def available(self):
        """What a customer could buy now: published and in stock."""
        return self.published().in_stock()

    def with_stock_state(self, state: StockState | str):
        return self.filter(STOCK_STATE_CONDITIONS[StockState(state)])

    def low_stock(self):
        return self.with_stock_state(StockState.LOW)

    def out_of_stock(self):
        return self.with_stock_state(StockState.OUT)

    def in_category(self, category):
        """Products of ``category`` and of all its sub-categories."""
        from .models import Category

        return self.filter(category_id__in=Category.objects.descendant_ids(category))

    def annotate_stock_state(self):
        return self.annotate(stock_state_value=stock_state_expression())

    def with_stock_value(self):
        return self.annotate(
            stock_value=ExpressionWrapper(
                F("stock") * F("price"), output_field=DecimalField(max_digits=20, decimal_places=2)
            )
        )

    def total_stock_value(self) -> Decimal:
        return self.with_stock_value().aggregate(total=Coalesce(Sum("stock_value"), Value(Decimal("0.00"))))[
            "total"
        ]

    def locked_in_pk_order(self, product_ids):
        """Row-lock the given products, always in primary-key order.

        Every writer that locks several products goes through here, so two transactions lock in the
        same order and can't deadlock each other.
        """
        return locked_in_pk_order(self, product_ids)


class StockMovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Stock movements are append-only: write a correction movement instead.")
