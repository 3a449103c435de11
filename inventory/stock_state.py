"""The one definition of a product's stock state (out / low / ok).

The same rule is needed in SQL (filters, badges on lists, dashboard counts) and in Python (a single
product). Both forms live here, side by side, and a test checks they agree on every boundary.
"""

from django.db import models
from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.functions import Cast, NullIf


class StockState(models.TextChoices):
    OUT = "out", "Out of stock"
    LOW = "low", "Low stock"
    OK = "ok", "In stock"


STOCK_STATE_CONDITIONS: dict[StockState, Q] = {
    StockState.OUT: Q(stock__lte=0),
    StockState.LOW: Q(stock__gt=0, stock__lte=F("low_stock_threshold")),
    StockState.OK: Q(stock__gt=F("low_stock_threshold")) & Q(stock__gt=0),
}


# How much of its threshold a product's stock covers (low stock: 0 < cover <= 1): the dashboard lists
# the lowest first, on an index of this expression (inventory.models, product_low_stock_cover_idx).
LOW_STOCK_COVER = Cast("stock", FloatField()) / Cast(NullIf("low_stock_threshold", 0), FloatField())


def stock_state_of(*, stock: int, low_stock_threshold: int) -> StockState:
    if stock <= 0:
        return StockState.OUT
    if stock <= low_stock_threshold:
        return StockState.LOW
    return StockState.OK


def stock_state_expression() -> Case:
    return Case(
        *(When(condition, then=Value(state.value)) for state, condition in STOCK_STATE_CONDITIONS.items()),
        output_field=models.CharField(),
    )
