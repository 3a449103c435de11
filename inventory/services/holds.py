"""Catalogue and stock changes a shop may want approved (``approvals``): how each is measured against
the shop's rules, and the change request written instead of the change when a rule is exceeded.
The services call these before they write; ``inventory.approvable`` makes the change once approved."""

from decimal import Decimal

from django.conf import settings

from approvals.gate import Measure, change_request_hold
from approvals.kinds import bulk_measure
from approvals.values import encode_data, field_changes, snapshot
from audit.conflicts import edit_merge

from ..models import Product

PRICE_CHANGE, STOCK_UNITS, STOCK_VALUE = "price_change", "stock_units", "stock_value"
UPDATE, ADJUST, ADJUST_MANY, SET_FLAG = (
    "inventory.product_update",
    "inventory.stock_adjust",
    "inventory.stock_adjust_many",
    "inventory.product_set_flag",
)


def price_change_measure(old, new) -> Measure | None:
    """A price change by its size in percent of the old price (from zero: without bound)."""
    if old is None or new is None or Decimal(old) == Decimal(new):
        return None
    old, new = Decimal(old), Decimal(new)
    if old == 0:
        return Measure(PRICE_CHANGE, Decimal("Infinity"), f"a price change from {old} to {new}")
    percent = (abs(new - old) * 100 / old).quantize(Decimal("0.1"))
    return Measure(PRICE_CHANGE, percent, f"a price change of {percent.normalize():f} % ({old} → {new})")


def stock_measures(quantities: list[int], prices: list) -> list[Measure]:
    """A stock adjustment by the units it moves and their value at the products' prices."""
    units = sum(abs(quantity) for quantity in quantities)
    value = sum((abs(q) * Decimal(p) for q, p in zip(quantities, prices, strict=True)), Decimal("0.00"))
    return [
        Measure(STOCK_UNITS, Decimal(units), f"a stock adjustment of {units:,} units"),
        Measure(STOCK_VALUE, value, f"a stock adjustment worth {value:,.2f} {settings.ORDER_CURRENCY}"),
    ]


def product_update_hold(*, product: Product, data: dict, user, reason, why: str, version=None):
    """An edit that changes the price beyond the shop's rule waits, whole (every field it changes), once
    merged with what others saved since ``version`` (``EditConflict`` when they changed the same)."""
    if "price" not in data or product.pk is None:
        return None
    stored = Product.objects.select_for_update().filter(pk=product.pk).first()
    if stored is None:
        return None
    if price_change_measure(stored.price, data["price"]) is not None:
        data = edit_merge(stored, data=data, version=version)
    if "price" not in data:
        return None
    changes = field_changes(stored, data)
    return change_request_hold(
        operation=UPDATE,
        measures=[price_change_measure(stored.price, data["price"])],
        title=f"Edit of {stored}: "
        + ", ".join(f"{change['field']} {change['old']} → {change['new']}" for change in changes),
        why=why,
        user=user,
        model=Product,
        records=[stored],
        changes=changes,
        expected=snapshot([stored], [Product._meta.get_field(name).attname for name in data]),
        payload={"product": str(stored.pk), "data": encode_data(Product, data), "reason": reason},
    )


def stock_adjust_hold(*, product: Product, quantity: int, reason: str, user):
    stored = Product.objects.filter(pk=product.pk).first()
    if stored is None:
        return None
    after = stored.stock + quantity
    return change_request_hold(
        operation=ADJUST,
        measures=stock_measures([quantity], [stored.price]),
        title=f"Stock of {stored}: {quantity:+d} ({stored.stock} → {after})",
        why=reason,
        user=user,
        model=Product,
        records=[stored],
        changes=[{"record": str(stored), "field": "stock", "old": str(stored.stock), "new": str(after)}],
        expected=snapshot([stored], ["stock"]),
        payload={"product": str(stored.pk), "quantity": quantity, "reason": reason},
    )


def stock_adjust_many_hold(*, product_ids: list, quantity: int, reason: str, user):
    products = list(Product.objects.filter(pk__in=product_ids).order_by("pk"))
    if not products:
        return None
    return change_request_hold(
        operation=ADJUST_MANY,
        measures=[
            bulk_measure(len(products)),
            *stock_measures([quantity] * len(products), [p.price for p in products]),
        ],
        title=f"Bulk stock adjustment {quantity:+d} of {len(products)} product(s): {reason}",
        why=reason,
        user=user,
        model=Product,
        records=products,
        changes=[
            {"record": str(p), "field": "stock", "old": str(p.stock), "new": str(p.stock + quantity)}
            for p in products
        ],
        expected=snapshot(products, ["stock"]),
        payload={"products": [str(p.pk) for p in products], "quantity": quantity, "reason": reason},
    )


def product_set_flag_hold(
    *, to_change: list[Product], flag: str, field: str, value, title, reason, user, why
):
    """A bulk flag (publish...) of more rows than the shop's rule: the rows it would change wait."""
    return change_request_hold(
        operation=SET_FLAG,
        measures=[bulk_measure(len(to_change))],
        title=f"{title} of {len(to_change)} product(s)",
        why=why,
        user=user,
        model=Product,
        records=to_change,
        changes=[change for product in to_change for change in field_changes(product, {field: value})],
        expected=snapshot(to_change, [field]),
        payload={"products": [str(p.pk) for p in to_change], "flag": flag, "reason": reason},
    )
