"""The catalogue's changes that may wait for approval, registered with ``approvals`` (in
``registrations``): each is made again, once approved, through the service that held it, as its
requester asked it."""

from approvals import registry as approvals
from approvals.values import decode_data

from .models import Product
from .services import product_set_flag, product_update, stock_adjust, stock_adjust_many
from .services.holds import ADJUST, ADJUST_MANY, PRICE_CHANGE, SET_FLAG, STOCK_UNITS, STOCK_VALUE, UPDATE


def _product(change_request) -> Product:
    return Product.objects.get(pk=change_request.payload["product"])


def _product_ids(change_request) -> list:
    """The payload's product ids (kept as text) as the services key them."""
    return [Product._meta.pk.to_python(pk) for pk in change_request.payload["products"]]


def apply_product_update(change_request):
    payload = change_request.payload
    product_update(
        product=_product(change_request),
        data=decode_data(Product, payload["data"]),
        user=change_request.requested_by,
        reason=payload["reason"],
    )


def apply_stock_adjust(change_request):
    payload = change_request.payload
    stock_adjust(
        product=_product(change_request),
        quantity=payload["quantity"],
        reason=payload["reason"],
        user=change_request.requested_by,
    )


def apply_stock_adjust_many(change_request):
    payload = change_request.payload
    return stock_adjust_many(
        products=_product_ids(change_request),
        quantity=payload["quantity"],
        reason=payload["reason"],
        user=change_request.requested_by,
    )


def apply_product_set_flag(change_request):
    payload = change_request.payload
    return product_set_flag(
        products=_product_ids(change_request),
        flag=payload["flag"],
        reason=payload["reason"],
        user=change_request.requested_by,
    )


def register() -> None:
    approvals.rule_kind(
        approvals.RuleKind(
            name=PRICE_CHANGE,
            label="Price change",
            template="price changes of more than {threshold} % of the old price",
            every="every price change",
            order=10,
        )
    )
    approvals.rule_kind(
        approvals.RuleKind(
            name=STOCK_UNITS,
            label="Stock adjustment (units)",
            template="stock adjustments of more than {threshold} units",
            order=20,
        )
    )
    approvals.rule_kind(
        approvals.RuleKind(
            name=STOCK_VALUE,
            label="Stock adjustment (value)",
            template="stock adjustments worth more than {threshold} (units times price)",
            order=30,
        )
    )
    product = "inventory.product"
    approvals.operation(approvals.Operation(name=UPDATE, apply=apply_product_update, model=product))
    approvals.operation(approvals.Operation(name=ADJUST, apply=apply_stock_adjust, model=product))
    approvals.operation(
        approvals.Operation(
            name=ADJUST_MANY, apply=apply_stock_adjust_many, model=product, own_change_set=True
        )
    )
    approvals.operation(
        approvals.Operation(name=SET_FLAG, apply=apply_product_set_flag, model=product, own_change_set=True)
    )
