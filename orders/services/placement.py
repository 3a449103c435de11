"""Placing an order: stock taken, the customer charged, all or nothing; the order, its lines, the stock
movements and their history written in one round trip."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from audit.recording import history_batch, history_bulk_record, rows_write_with_history
from core.bulk import instance_rows, next_ids
from inventory.models import Product, StockMovement
from inventory.services import InsufficientStock, stock_apply

from .. import payments
from ..models import Customer, Order, OrderItem, OrderStatus, order_number_for
from ..signals import order_placed
from .common import OrderError, as_quantities, money, tax_for


def order_place(
    *,
    customer: Customer,
    lines,
    shipping_address: str | None = None,
    internal_note: str = "",
    charge: bool = True,
    user=None,
) -> Order:
    """Place an order for ``customer``: stock is taken, the customer charged, all or nothing.

    ``lines`` maps products (or their ids) to quantities. Refuses with ``InsufficientStock`` (naming
    the product, what is available and what was asked) and with ``PaymentError``; nothing is written
    then. With ``charge=False`` the order stays pending (e.g. payment on delivery).
    """
    quantities = as_quantities(lines)
    if not quantities:
        raise OrderError("An order needs at least one line.")
    if any(quantity < 1 for quantity in quantities.values()):
        raise OrderError("Each line needs a quantity of at least 1.")

    gateway, payment_reference = payments.payment_gateway(), ""
    with transaction.atomic():
        products = {p.pk: p for p in Product.objects.locked_in_pk_order(quantities)}
        missing = set(quantities) - set(products)
        if missing:
            raise OrderError(f"Unknown product(s): {', '.join(sorted(map(str, missing)))}.")
        for pk, quantity in quantities.items():
            product = products[pk]
            if not product.is_published:
                raise OrderError(f"{product.name} ({product.sku}) is not published and can't be ordered.")
            if product.stock < quantity:
                raise InsufficientStock(product=product, available=product.stock, requested=quantity)

        # The order's id (and so its number) and its lines' ids, taken before their rows are written.
        (order_id,), line_ids = next_ids([(Order, 1), (OrderItem, len(quantities))])
        number = order_number_for(order_id)
        subtotal = sum((money(products[pk].price * q) for pk, q in quantities.items()), Decimal("0"))
        tax = tax_for(subtotal)
        if charge:
            payment_reference = gateway.charge(
                amount=subtotal + tax, currency=settings.ORDER_CURRENCY, description=number
            )
        try:
            order = _write_new_order(
                order_id=order_id,
                line_ids=line_ids,
                number=number,
                customer=customer,
                products=products,
                quantities=quantities,
                subtotal=subtotal,
                tax=tax,
                status=OrderStatus.PAID if charge else OrderStatus.PENDING,
                payment_reference=payment_reference,
                shipping_address=(
                    shipping_address if shipping_address is not None else customer.default_shipping_address
                ),
                internal_note=internal_note,
                user=user,
            )
        except BaseException:
            if payment_reference:
                gateway.refund(
                    payment_reference=payment_reference,
                    amount=subtotal + tax,
                    currency=settings.ORDER_CURRENCY,
                )
            raise
        transaction.on_commit(lambda: order_placed.send(sender=Order, order=order, lines=dict(quantities)))
    return order


def _write_new_order(*, order_id, line_ids, number, products, quantities, subtotal, tax, user, **fields):
    """The order, its lines and the stock they take, with their history and audit entries.

    The order and its lines are built here and written as rows with the history (on PostgreSQL the
    order's rows, ledger movements, history and audit entries go in one round trip after the stock
    update): saving them one by one through the ORM took a third of the time of placing an order.
    """
    reason = f"Order {number} placed"
    order = Order(id=order_id, number=number, subtotal=subtotal, tax=tax, total=subtotal + tax, **fields)
    items = [
        OrderItem(
            id=line_id,
            order=order,
            product=products[pk],
            quantity=quantity,
            unit_price=products[pk].price,
            line_total=money(products[pk].price * quantity),
        )
        for line_id, (pk, quantity) in zip(line_ids, quantities.items(), strict=True)
    ]
    with history_batch():
        rows_write_with_history(Order, *instance_rows([order]))
        rows_write_with_history(OrderItem, *instance_rows(items))
        history_bulk_record([order], reason=reason, user=user, history_type="+")
        history_bulk_record(items, reason=reason, user=user, history_type="+")
        stock_apply(
            changes={pk: -quantity for pk, quantity in quantities.items()},
            kind=StockMovement.Kind.SALE,
            reason=reason,
            user=user,
            reference=order,
            locked=products,
        )
    return order
