"""Placing an order (a new one, or a draft) and taking the payment of an order awaiting it."""

from decimal import Decimal
from functools import partial

from django.db import transaction

from audit.recording import history_batch, history_bulk_record, rows_write_with_history
from core.bulk import instance_rows, next_ids
from core.locking import locked_fields_in_pk_order
from inventory.models import Product, StockMovement
from inventory.services import InsufficientStock, stock_apply, stock_apply_locked

from .. import billing
from ..billing import settler
from ..models import Customer, Order, OrderItem, OrderStatus, Payment, order_number_for
from ..signals import order_paid, order_placed
from .common import (
    ZERO,
    OrderError,
    as_quantities,
    check_transition,
    lock_order,
    money,
    order_write,
    tax_for,
)


# --- Placing an order ------------------------------------------------------------------------------
def order_place(
    *,
    customer: Customer | None = None,
    lines=None,
    draft: Order | None = None,
    shipping_address: str | None = None,
    charge: bool = True,
    user=None,
) -> Order:
    """Place an order: stock is taken, then the customer is charged its total.

    Either ``customer`` and ``lines`` (products or ids -> quantities) for a new order, or ``draft``,
    a draft order whose lines are placed at the prices it shows. Refuses with ``InsufficientStock``
    (naming the product, what is available and what was asked) or ``OrderError`` before anything is
    written. Then, in three steps: the order is written "awaiting payment" with its stock taken and a
    pending charge (committed); the provider is called; the order becomes paid, or, when the provider
    refuses (``PaymentDeclined`` is raised), its stock comes back and it is a draft again. When the
    provider doesn't answer, ``PaymentPending`` is raised: the order waits for the periodic
    resolution. With ``charge=False`` the order stays awaiting payment (e.g. payment on delivery).
    """
    with transaction.atomic():
        if draft is not None:
            order, batch, payments, quantities = _place_draft(draft, charge=charge, user=user)
        else:
            order, batch, payments, quantities = _place_new(
                customer=customer, lines=lines, shipping_address=shipping_address, charge=charge, user=user
            )
    if batch is None:
        return order
    settlement = billing.payments_carry_out(batch, payments=payments, known={"lines": quantities})
    settlement.raise_unless_succeeded(
        pending=(
            f"The payment provider didn't answer: order {order.number} is awaiting payment with its "
            f"stock held, and is settled as soon as the provider says what it did."
        ),
        refused=f"The charge for {order.number} was refused: the order is a draft again and its stock "
        f"was put back.",
    )
    order.status = settlement.order.status
    return order


# What placing an order reads of its products (their history rows are copied from the table).
PLACEMENT_FIELDS = ("name", "sku", "price", "stock", "is_published")


def _checked_products(quantities: dict) -> dict:
    """The products of ``quantities``, row-locked in pk order, checked: published, enough stock."""
    if not quantities:
        raise OrderError("An order needs at least one line.")
    if any(quantity < 1 for quantity in quantities.values()):
        raise OrderError("Each line needs a quantity of at least 1.")
    products = {p.pk: p for p in locked_fields_in_pk_order(Product, quantities, fields=PLACEMENT_FIELDS)}
    missing = {str(pk) for pk in quantities} - {str(pk) for pk in products}
    if missing:
        raise OrderError(f"Unknown product(s): {', '.join(sorted(missing))}.")
    for pk, quantity in quantities.items():
        product = products[pk]
        if not product.is_published:
            raise OrderError(f"{product.name} ({product.sku}) is not published and can't be ordered.")
        if product.stock < quantity:
            raise InsufficientStock(product=product, available=product.stock, requested=quantity)
    return products


def _place_new(*, customer, lines, shipping_address, charge, user):
    quantities = as_quantities(lines or {})
    products = _checked_products(quantities)
    # The order's id (and so its number) and its lines' ids, taken before their rows are written.
    (order_id,), line_ids = next_ids([(Order, 1), (OrderItem, len(quantities))])
    number = order_number_for(order_id)
    subtotal = sum((money(products[pk].price * q) for pk, q in quantities.items()), ZERO)
    tax = tax_for(subtotal)
    order = Order(
        id=order_id,
        number=number,
        customer=customer,
        status=_placed_status(charge=charge, total=subtotal + tax),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        shipping_address=shipping_address
        if shipping_address is not None
        else customer.default_shipping_address,
    )
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
    # The order, its lines, the stock they take, the pending charge, history and audit entries: one
    # write after the stock update (saving them one by one took a third of an order's time).
    reason = f"Order {number} placed"
    with history_batch():
        rows_write_with_history(Order, *instance_rows([order]))
        rows_write_with_history(OrderItem, *instance_rows(items))
        history_bulk_record([order], reason=reason, user=user, history_type="+")
        history_bulk_record(items, reason=reason, user=user, history_type="+")
        return _take_stock_and_open_charge(
            order, quantities, products, charge=charge, user=user, reason=reason
        )


def _take_stock_and_open_charge(order: Order, quantities, products, *, charge: bool, user, reason: str):
    """Step 1's end, in the open ``history_batch``: the lines' stock taken, and the pending charge
    (with its batch), or, when nothing is charged now, the order announced at once. Gives (order,
    batch or None, the pending payments, the quantities)."""
    stock_apply_locked(
        changes={pk: -quantity for pk, quantity in quantities.items()},
        locked=products,
        kind=StockMovement.Kind.SALE,
        reason=reason,
        user=user,
        reference=order,
    )
    if charge and order.total > 0:
        batch = billing.new_batch()
        payment = billing.payment_open(
            order=order,
            kind=Payment.Kind.CHARGE,
            purpose=Payment.Purpose.PLACEMENT,
            amount=order.total,
            batch=batch,
            user=user,
            reason=reason,
            with_history=True,
        )
        return order, batch, [payment], quantities
    _announce_placed(order, quantities)
    return order, None, [], quantities


def _placed_status(*, charge: bool, total: Decimal) -> str:
    # Nothing to charge (every line free) is paid as it is.
    return OrderStatus.PAID if charge and total <= 0 else OrderStatus.PENDING


def _place_draft(draft: Order, *, charge: bool, user):
    order = lock_order(draft)
    if order.status != OrderStatus.DRAFT:
        raise OrderError(f"Order {order.number} is {order.get_status_display().lower()}, not a draft.")
    lines = list(order.items.select_related("product"))
    quantities = {line.product_id: line.quantity for line in lines}
    products = _checked_products(quantities)
    reason = f"Order {order.number} placed"
    with history_batch():
        order_write(
            order, {"status": _placed_status(charge=charge, total=order.total)}, reason=reason, user=user
        )
        return _take_stock_and_open_charge(
            order, quantities, products, charge=charge, user=user, reason=reason
        )


def _announce_placed(order: Order, lines: dict) -> None:
    transaction.on_commit(partial(order_placed.send, sender=Order, order=order, lines=dict(lines)))


@settler(Payment.Purpose.PLACEMENT)
def _placement_settled(*, order, payments, settlement):
    """Paid: the order is announced. Refused: its stock comes back and it is a draft again."""
    user = payments[0].user
    lines = settlement.known.get("lines") or dict(order.items.values_list("product_id", "quantity"))
    if settlement.all_succeeded:
        order_write(order, {"status": OrderStatus.PAID}, reason=f"Order {order.number} paid", user=user)
        _announce_placed(order, lines)
        return
    stock_apply(
        changes=lines,
        kind=StockMovement.Kind.CANCELLATION,
        reason=f"Charge for {order.number} refused: stock put back",
        user=user,
        reference=order,
    )
    order_write(
        order,
        {"status": OrderStatus.DRAFT},
        reason=f"Charge for {order.number} refused: back to draft",
        user=user,
    )


# --- Taking payment of an order awaiting it ------------------------------------------------------------
def order_pay(*, order: Order, user=None) -> Order:
    """Charge what an order awaiting payment owes (its balance); it becomes paid once charged."""
    with transaction.atomic():
        order = lock_order(order)
        check_transition(order, OrderStatus.PAID)
        if order.status == OrderStatus.DRAFT:
            raise OrderError(f"Order {order.number} is a draft: place it to charge the customer.")
        billing.refuse_while_pending(order)
        totals = Payment.objects.filter(order=order).totals()
        due = order.total - totals["paid"] + totals["refunded"]
        if due <= 0:
            order_write(order, {"status": OrderStatus.PAID}, reason=f"Order {order.number} paid", user=user)
            transaction.on_commit(partial(order_paid.send, sender=Order, order=order))
            return order
        batch = billing.new_batch()
        payments = [
            billing.payment_open(
                order=order,
                kind=Payment.Kind.CHARGE,
                purpose=Payment.Purpose.PAYMENT,
                amount=due,
                batch=batch,
                user=user,
                reason=f"Payment of {order.number}",
            )
        ]
    settlement = billing.payments_carry_out(batch, payments=payments)
    settlement.raise_unless_succeeded(
        pending=f"The payment provider didn't answer: the payment of {order.number} is settled as soon "
        f"as it says what it did.",
        refused=f"The charge for {order.number} was refused: it is still awaiting payment.",
    )
    return settlement.order


@settler(Payment.Purpose.PAYMENT)
def _payment_settled(*, order, payments, settlement):
    if settlement.all_succeeded:
        order_write(
            order, {"status": OrderStatus.PAID}, reason=f"Order {order.number} paid", user=payments[0].user
        )
        transaction.on_commit(partial(order_paid.send, sender=Order, order=order))
