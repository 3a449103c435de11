"""The order service: the only way an order's lines, stock and money change.

Every function runs in one transaction. Rows are locked in a fixed order: the order first, then its
products in primary-key order (through ``inventory.services.stock_apply``), so two edits never
deadlock. Money moves through the payment gateway; a charge is given back if the writes that follow
it fail, and a failed charge writes nothing.
"""

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from audit.models import ChangeSet
from audit.recording import (
    change_set_recording,
    history_batch,
    history_bulk_record,
    rows_write_with_history,
)
from backoffice.bulk import instance_rows, next_ids
from backoffice.exceptions import DomainError
from inventory.models import Product, StockMovement
from inventory.services import CatalogueError, InsufficientStock, product_pk, stock_apply

from .models import Customer, Order, OrderItem, OrderStatus, order_number_for
from .payments import PaymentError, payment_gateway
from .signals import order_placed

CENT = Decimal("0.01")


class OrderError(DomainError):
    pass


# Which status may follow which. Anything else is refused and changes nothing.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.PENDING: (OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PAID: (OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.REFUNDED),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED, OrderStatus.REFUNDED),
    OrderStatus.COMPLETED: (OrderStatus.REFUNDED,),
    OrderStatus.CANCELLED: (),
    OrderStatus.REFUNDED: (),
}
EDITABLE_STATUSES = (OrderStatus.PENDING, OrderStatus.PAID)
# Statuses in which the customer's money is held by us (so leaving them gives it back).
CHARGED_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_for(subtotal: Decimal) -> Decimal:
    return money(subtotal * settings.ORDER_TAX_RATE)


def _as_quantities(lines) -> dict:
    """{product id: quantity} from a mapping or an iterable of (product or id, quantity).

    Ids may be UUIDs or their text (as JSON and forms carry them), quantities whole numbers or their
    text; anything else is refused with a message saying which value was wrong."""
    if isinstance(lines, str | bytes) or not isinstance(lines, Mapping | Iterable):
        raise OrderError(f"Order lines must map products to quantities, not {lines!r}.")
    items = lines.items() if isinstance(lines, Mapping) else lines
    quantities: dict = {}
    for item in items:
        try:
            product, quantity = item
        except (TypeError, ValueError):
            raise OrderError(f"An order line must be a (product, quantity) pair, not {item!r}.") from None
        pk = _product_pk(product)
        quantities[pk] = quantities.get(pk, 0) + _whole_number(quantity, product)
    return quantities


def _product_pk(value):
    try:
        return product_pk(value)
    except CatalogueError as error:
        raise OrderError(str(error)) from None


def _whole_number(value, product) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    if isinstance(value, Decimal | float):
        try:
            if value == int(value):
                return int(value)
        except (ValueError, OverflowError):
            pass
    raise OrderError(
        f"The quantity of product {getattr(product, 'pk', product)} must be a whole number, not {value!r}."
    )


def _order_pk(value) -> int:
    """An order's id given as an order, a number or a number's text; anything else is refused."""
    if isinstance(value, Order):
        return value.pk
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise OrderError(f"{value!r} is not an order id: give an order or its number id (like 42).")


# --- Placing an order ------------------------------------------------------------------------------
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
    quantities = _as_quantities(lines)
    if not quantities:
        raise OrderError("An order needs at least one line.")
    if any(quantity < 1 for quantity in quantities.values()):
        raise OrderError("Each line needs a quantity of at least 1.")

    gateway, payment_reference = payment_gateway(), ""
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


# --- Support edits: lines --------------------------------------------------------------------------
def order_lines_set(*, order: Order, quantities, user=None) -> Order:
    """Make the order's lines hold exactly ``quantities`` ({product: quantity}; 0 removes a line).

    Products not named keep their lines. Stock moves by the difference, totals are recomputed and,
    for a paid order, the difference is charged or refunded. Only pending and paid orders can change.
    """
    wanted = _as_quantities(quantities)
    if any(quantity < 0 for quantity in wanted.values()):
        raise OrderError("A line's quantity can't be negative.")
    with transaction.atomic():
        order = _lock_order(order)
        if order.status not in EDITABLE_STATUSES:
            raise OrderError(
                f"Order {order.number} is {order.get_status_display().lower()}: its lines can only "
                f"change while it is pending or paid."
            )
        lines = {line.product_id: line for line in order.items.select_related("product")}
        deltas = {pk: q - (lines[pk].quantity if pk in lines else 0) for pk, q in wanted.items()}
        deltas = {pk: d for pk, d in deltas.items() if d}
        if not deltas:
            return order
        final = {pk: line.quantity for pk, line in lines.items()} | wanted
        if not any(final.values()):
            raise OrderError(f"Order {order.number} would have no lines left: cancel the order instead.")

        reason = f"Order {order.number} edited"
        taken = {pk: -d for pk, d in deltas.items() if d > 0}
        returned = {pk: -d for pk, d in deltas.items() if d < 0}
        stock_apply(changes=taken, kind=StockMovement.Kind.SALE, reason=reason, user=user, reference=order)
        stock_apply(
            changes=returned,
            kind=StockMovement.Kind.CANCELLATION,
            reason=f"Restocked by edit of {order.number}",
            user=user,
            reference=order,
        )
        _write_lines(order=order, lines=lines, wanted=wanted, reason=reason, user=user)
        old_total = order.total
        _recalculate(order, reason=reason, user=user)
        _settle_difference(order, old_total=old_total)
    return order


def order_line_add(*, order: Order, product, quantity: int, user=None) -> Order:
    pk = _product_pk(product)
    quantity = _whole_number(quantity, product)
    current = order.items.filter(product_id=pk).values_list("quantity", flat=True).first() or 0
    if quantity < 1:
        raise OrderError("A new line needs a quantity of at least 1.")
    return order_lines_set(order=order, quantities={pk: current + quantity}, user=user)


def order_line_change(*, line: OrderItem, quantity: int, user=None) -> Order:
    if quantity < 1:
        raise OrderError("A line's quantity must be at least 1; remove the line instead.")
    return order_lines_set(order=line.order, quantities={line.product_id: quantity}, user=user)


def order_line_remove(*, line: OrderItem, user=None) -> Order:
    return order_lines_set(order=line.order, quantities={line.product_id: 0}, user=user)


def order_lines_check(*, order: Order, quantities) -> list[str]:
    """What ``order_lines_set`` would refuse, without writing: for forms to show before saving."""
    problems = []
    if order.status not in EDITABLE_STATUSES:
        problems.append(f"Order {order.number} is {order.get_status_display().lower()}: lines are read-only.")
        return problems
    wanted = _as_quantities(quantities)
    current = dict(order.items.values_list("product_id", "quantity"))
    extra = {pk: q - current.get(pk, 0) for pk, q in wanted.items() if q > current.get(pk, 0)}
    for product in Product.objects.filter(pk__in=extra):
        if product.stock < extra[product.pk]:
            problems.append(
                f"Not enough stock for {product.name} ({product.sku}): {product.stock} available, "
                f"{extra[product.pk]} more requested."
            )
    return problems


def _write_lines(*, order, lines, wanted, reason, user):
    products = {p.pk: p for p in Product.objects.filter(pk__in=[pk for pk in wanted if pk not in lines])}
    created, changed, removed = [], [], []
    for pk, quantity in wanted.items():
        line = lines.get(pk)
        if line is None and quantity:
            product = products[pk]
            created.append(
                OrderItem(
                    order=order,
                    product=product,
                    quantity=quantity,
                    unit_price=product.price,
                    line_total=money(product.price * quantity),
                )
            )
        elif line is not None and quantity == 0:
            removed.append(line)
        elif line is not None and quantity != line.quantity:
            line.quantity = quantity
            line.line_total = money(line.unit_price * quantity)
            changed.append(line)
    if created:
        OrderItem.objects.bulk_create(created)
        history_bulk_record(created, reason=reason, user=user, history_type="+")
    if changed:
        OrderItem.objects.bulk_update(changed, ["quantity", "line_total"])
        history_bulk_record(changed, reason=reason, user=user, changed_fields=["quantity", "line_total"])
    if removed:
        history_bulk_record(removed, reason=reason, user=user, history_type="-")
        OrderItem.objects.filter(pk__in=[line.pk for line in removed]).delete()


def _recalculate(order: Order, *, reason: str, user=None) -> None:
    subtotal = order.items.aggregate(s=Sum("line_total"))["s"] or Decimal("0")
    order.subtotal = money(subtotal)
    order.tax = tax_for(order.subtotal)
    order.total = order.subtotal + order.tax
    _save(order, ["subtotal", "tax", "total", "updated_at"], reason=reason, user=user)


def _settle_difference(order: Order, *, old_total: Decimal) -> None:
    """A paid order whose total changed: charge the extra, or give the difference back."""
    if order.status != OrderStatus.PAID or order.total == old_total:
        return
    gateway = payment_gateway()
    difference = order.total - old_total
    if difference > 0:
        gateway.charge(
            amount=difference,
            currency=settings.ORDER_CURRENCY,
            description=f"{order.number} (edit)",
        )
    else:
        gateway.refund(
            payment_reference=order.payment_reference,
            amount=-difference,
            currency=settings.ORDER_CURRENCY,
        )


# --- Status ------------------------------------------------------------------------------------------
def order_transition(*, order: Order, to: str, user=None, reason: str | None = None) -> Order:
    """Move an order to status ``to`` if the transition table allows it.

    Paying charges the customer; cancelling and refunding put the stock back (with ledger
    movements) and give back money that was taken.
    """
    to = OrderStatus(to)
    with transaction.atomic():
        order = _lock_order(order)
        _check_transition(order, to)
        _apply_transition(order, to, user=user, reason=reason)
    return order


BULK_TITLES = {
    OrderStatus.PAID: "Bulk mark paid",
    OrderStatus.SHIPPED: "Bulk ship",
    OrderStatus.COMPLETED: "Bulk complete",
    OrderStatus.CANCELLED: "Bulk cancel",
    OrderStatus.REFUNDED: "Bulk refund",
}


def order_bulk_transition(*, orders: Iterable, to: str, user=None) -> ChangeSet:
    """The same transition for several orders, all or nothing, as one change set; refused ones
    are named and nothing changes."""
    to = OrderStatus(to)
    with (
        transaction.atomic(),
        change_set_recording(
            kind=ChangeSet.Kind.BULK_ACTION, title=BULK_TITLES.get(to, f"Bulk {to.label.lower()}"), user=user
        ) as change_set,
    ):
        locked = list(
            Order.objects.select_for_update().filter(pk__in=[_order_pk(o) for o in orders]).order_by("pk")
        )
        refused = [o for o in locked if to not in TRANSITIONS[o.status]]
        if refused:
            names = ", ".join(f"{o.number} ({o.get_status_display().lower()})" for o in refused[:10])
            more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
            raise OrderError(
                f"Nothing changed: {len(refused)} order(s) can't become {to.label.lower()}: {names}{more}."
            )
        for order in locked:
            _apply_transition(order, to, user=user, reason=f"{BULK_TITLES[to]}: {order.number}")
    return change_set


def order_mark_paid(*, order, user=None):
    return order_transition(order=order, to=OrderStatus.PAID, user=user)


def order_ship(*, order, user=None):
    return order_transition(order=order, to=OrderStatus.SHIPPED, user=user)


def order_complete(*, order, user=None):
    return order_transition(order=order, to=OrderStatus.COMPLETED, user=user)


def order_cancel(*, order, user=None):
    return order_transition(order=order, to=OrderStatus.CANCELLED, user=user)


def order_refund(*, order, user=None):
    return order_transition(order=order, to=OrderStatus.REFUNDED, user=user)


def _check_transition(order: Order, to: OrderStatus) -> None:
    allowed = TRANSITIONS[order.status]
    if to not in allowed:
        current = order.get_status_display().lower()
        options = ", ".join(OrderStatus(s).label.lower() for s in allowed) or "nothing (it is final)"
        raise OrderError(
            f"Order {order.number} is {current} and can't become {to.label.lower()}; "
            f"a {current} order can become: {options}."
        )


def _apply_transition(order: Order, to: OrderStatus, *, user=None, reason=None) -> None:
    gateway = payment_gateway()
    was = order.status
    if to in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        verb = "cancellation" if to == OrderStatus.CANCELLED else "refund"
        lines = dict(order.items.values_list("product_id", "quantity"))
        stock_apply(
            changes=lines,
            kind=StockMovement.Kind.CANCELLATION
            if to == OrderStatus.CANCELLED
            else StockMovement.Kind.REFUND,
            reason=f"Restocked by {verb} of {order.number}",
            user=user,
            reference=order,
        )
        if was in CHARGED_STATUSES and order.payment_reference:
            gateway.refund(
                payment_reference=order.payment_reference,
                amount=order.total,
                currency=settings.ORDER_CURRENCY,
            )
    fields = ["status", "updated_at"]
    if to == OrderStatus.PAID:
        order.payment_reference = gateway.charge(
            amount=order.total, currency=settings.ORDER_CURRENCY, description=order.number
        )
        fields.append("payment_reference")
    order.status = to
    _save(order, fields, reason=reason or f"Order {order.number} {to.label.lower()}", user=user)


def _lock_order(order: Order) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=order.pk)
    except Order.DoesNotExist as error:
        raise OrderError(f"Order {order} no longer exists.") from error


def _save(obj, fields, *, reason, user=None):
    obj._change_reason = reason
    if user is not None:
        obj._history_user = user
    obj.save(update_fields=fields)


class OrderService:
    """The order service's operations under one name (the functions above are the same thing)."""

    place_order = staticmethod(order_place)
    set_lines = staticmethod(order_lines_set)
    add_line = staticmethod(order_line_add)
    change_line = staticmethod(order_line_change)
    remove_line = staticmethod(order_line_remove)
    transition = staticmethod(order_transition)
    mark_paid = staticmethod(order_mark_paid)
    ship = staticmethod(order_ship)
    complete = staticmethod(order_complete)
    cancel = staticmethod(order_cancel)
    refund = staticmethod(order_refund)


__all__ = [
    "TRANSITIONS",
    "InsufficientStock",
    "OrderError",
    "OrderService",
    "PaymentError",
    "order_bulk_transition",
    "order_cancel",
    "order_complete",
    "order_line_add",
    "order_line_change",
    "order_line_remove",
    "order_lines_check",
    "order_lines_set",
    "order_mark_paid",
    "order_place",
    "order_refund",
    "order_ship",
    "order_transition",
]
