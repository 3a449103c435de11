"""The order service: the only way an order's status, stock and money change.

Rows are locked in a fixed order: the order first, then its products in primary-key order (through
``inventory.services.stock_apply``), so two operations never deadlock. Money moves in three steps
(``orders.billing``): the operation is prepared and committed (stock taken, payments written
pending), the provider is called with no transaction open, and the outcome is settled in a new
transaction. Line edits are in ``orders.edits``, refunds and returns in ``orders.refunds``.
"""

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import ChangeSet
from audit.recording import (
    change_set_recording,
    history_batch,
    history_bulk_record,
    recording_change_set,
    rows_write_with_history,
)
from backoffice.bulk import instance_rows, next_ids
from backoffice.exceptions import DomainError
from inventory.models import Product, StockMovement
from inventory.services import InsufficientStock, stock_apply

from . import billing
from .billing import PaymentPending, settler
from .models import Customer, Order, OrderItem, OrderNote, OrderStatus, Payment, order_number_for
from .payments import PaymentDeclined, PaymentError
from .signals import order_cancelled, order_paid, order_placed, order_shipped

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class OrderError(DomainError):
    pass


# Which status may follow which. Anything else is refused and changes nothing. A draft becomes
# pending or paid only by being placed (``order_place``); partially refunded and refunded only by a
# refund (``orders.refunds``); ``allowed_transitions`` narrows partially refunded orders by whether
# they have shipped.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OrderStatus.DRAFT: (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PENDING: (OrderStatus.PAID, OrderStatus.CANCELLED),
    OrderStatus.PAID: (
        OrderStatus.SHIPPED,
        OrderStatus.CANCELLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    ),
    OrderStatus.PARTIALLY_REFUNDED: (
        OrderStatus.SHIPPED,
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    ),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED),
    OrderStatus.COMPLETED: (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED),
    OrderStatus.CANCELLED: (),
    OrderStatus.REFUNDED: (),
}
# Once goods have left, an order can't be cancelled or shipped again, only completed or refunded.
NOT_AFTER_SHIPPING = (OrderStatus.SHIPPED, OrderStatus.CANCELLED)


def allowed_transitions(order: Order) -> tuple[str, ...]:
    allowed = TRANSITIONS[order.status]
    if order.status == OrderStatus.PARTIALLY_REFUNDED:
        if order.shipped_at:
            return tuple(s for s in allowed if s not in NOT_AFTER_SHIPPING)
        return tuple(s for s in allowed if s != OrderStatus.COMPLETED)
    return allowed


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_for(subtotal: Decimal) -> Decimal:
    return money(subtotal * settings.ORDER_TAX_RATE)


def as_quantities(lines) -> dict:
    """{product_id: quantity} from a mapping or an iterable of (product or id, quantity)."""
    items = lines.items() if isinstance(lines, Mapping) else lines
    quantities: dict = {}
    for product, quantity in items:
        pk = getattr(product, "pk", product)
        try:  # ids as UUIDs or their text
            pk = Product._meta.pk.to_python(pk)
        except ValidationError as error:
            raise OrderError(f"{pk!r} is not a product id.") from error
        if int(quantity) != quantity:
            raise OrderError("Quantities must be whole numbers.")
        quantities[pk] = quantities.get(pk, 0) + int(quantity)
    return quantities


def required_reason(reason: str | None, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OrderError(f"Say why {what}: a reason is required.")
    return reason


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


def _checked_products(quantities: dict) -> dict:
    """The products of ``quantities``, row-locked in pk order, checked: published, enough stock."""
    if not quantities:
        raise OrderError("An order needs at least one line.")
    if any(quantity < 1 for quantity in quantities.values()):
        raise OrderError("Each line needs a quantity of at least 1.")
    products = {p.pk: p for p in Product.objects.locked_in_pk_order(quantities)}
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
    stock_apply(
        changes={pk: -quantity for pk, quantity in quantities.items()},
        kind=StockMovement.Kind.SALE,
        reason=reason,
        user=user,
        reference=order,
        locked=products,
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
        order_update(
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
        order_update(order, {"status": OrderStatus.PAID}, reason=f"Order {order.number} paid", user=user)
        _announce_placed(order, lines)
        return
    stock_apply(
        changes=lines,
        kind=StockMovement.Kind.CANCELLATION,
        reason=f"Charge for {order.number} refused: stock put back",
        user=user,
        reference=order,
    )
    order_update(
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
            order_update(order, {"status": OrderStatus.PAID}, reason=f"Order {order.number} paid", user=user)
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
        order_update(
            order, {"status": OrderStatus.PAID}, reason=f"Order {order.number} paid", user=payments[0].user
        )
        transaction.on_commit(partial(order_paid.send, sender=Order, order=order))


# --- Shipping and completing ----------------------------------------------------------------------------
def order_ship(*, order: Order, user=None) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        _ship(order, user=user)
    return order


def order_complete(*, order: Order, user=None) -> Order:
    with transaction.atomic():
        order = lock_order(order)
        _complete(order, user=user)
    return order


def _ship(order: Order, *, user=None, reason=None) -> None:
    check_transition(order, OrderStatus.SHIPPED)
    billing.refuse_while_pending(order)
    order_update(
        order,
        {"status": OrderStatus.SHIPPED, "shipped_at": timezone.now()},
        reason=reason or f"Order {order.number} shipped",
        user=user,
    )
    transaction.on_commit(partial(order_shipped.send, sender=Order, order=order))


def _complete(order: Order, *, user=None, reason=None) -> None:
    check_transition(order, OrderStatus.COMPLETED)
    order_update(
        order,
        {"status": OrderStatus.COMPLETED},
        reason=reason or f"Order {order.number} completed",
        user=user,
    )


# --- Cancelling --------------------------------------------------------------------------------------------
def order_cancel(*, order: Order, reason: str, user=None) -> Order:
    """Cancel an order that hasn't shipped: what the customer paid is refunded to its charges, the
    stock of its lines comes back, and nothing is owed any more. The refunds go first; the order is
    cancelled once they succeeded (``PaymentDeclined``: nothing changed; ``PaymentPending``: it is
    cancelled when the provider's answer is known)."""
    reason = required_reason(reason, "the order is cancelled")
    with transaction.atomic():
        order = lock_order(order)
        check_transition(order, OrderStatus.CANCELLED)
        billing.refuse_while_pending(order)
        refundable = billing.order_refundable(order)
        if refundable <= 0:
            _cancelled(order, refunded=ZERO, reason=reason, user=user)
            return order
        batch = billing.new_batch()
        payments = billing.refunds_open(
            order=order,
            amount=refundable,
            purpose=Payment.Purpose.CANCELLATION,
            batch=batch,
            user=user,
            reason=reason,
        )
    settlement = billing.payments_carry_out(batch, payments=payments)
    settlement.raise_unless_succeeded(
        pending=f"The payment provider didn't answer: {order.number} is cancelled as soon as it says "
        f"the refund went through.",
        refused=f"The refund for {order.number} was refused, so it was not cancelled.",
    )
    return settlement.order


@settler(Payment.Purpose.CANCELLATION)
def _cancellation_settled(*, order, payments, settlement):
    """All refunded: the order is cancelled. Some refused: what went back is credited, and the order
    stays as it was otherwise (support sees the failure and tries again)."""
    user, reason = payments[0].user, payments[0].reason
    if settlement.all_succeeded:
        _cancelled(order, refunded=settlement.succeeded, reason=reason, user=user)
    elif settlement.succeeded:
        from .refunds import credit

        credit(
            order,
            settlement.succeeded,
            reason=f"Partial refund of {order.number}: {reason}",
            refund=payments[0].batch,
            user=user,
        )


def _cancelled(order: Order, *, refunded: Decimal, reason: str, user) -> None:
    """The order is off: its remaining stock back on the shelf, nothing owed."""
    from .refunds import returned_quantities

    if order.status != OrderStatus.DRAFT:  # a draft never took stock
        returned = returned_quantities(order)
        lines = {
            line.product_id: line.quantity - returned.get(line.pk, 0)
            for line in order.items.all()
            if line.quantity > returned.get(line.pk, 0)
        }
        stock_apply(
            changes=lines,
            kind=StockMovement.Kind.CANCELLATION,
            reason=f"Restocked by cancellation of {order.number}",
            user=user,
            reference=order,
        )
    order_update(
        order,
        {"status": OrderStatus.CANCELLED, "credited": order.subtotal + order.tax, "total": ZERO},
        reason=f"Order {order.number} cancelled: {reason}",
        user=user,
    )
    transaction.on_commit(partial(order_cancelled.send, sender=Order, order=order, amount=refunded))


# --- Many orders at once ----------------------------------------------------------------------------------
BULK_TITLES = {
    OrderStatus.SHIPPED: "Bulk ship",
    OrderStatus.COMPLETED: "Bulk complete",
    OrderStatus.CANCELLED: "Bulk cancel",
}


def order_bulk_transition(*, orders: Iterable, to: str, user=None, reason: str = "") -> ChangeSet:
    """Ship, complete or cancel several orders as one change set. Every order is checked first: if
    any can't make the change, they are named and nothing changes. Shipping and completing are one
    transaction; cancelling refunds each order separately (money never moves inside a transaction),
    and orders whose refund is refused or unanswered are named in the ``BulkCancelIncomplete`` raised
    at the end (the others are cancelled)."""
    to = OrderStatus(to)
    if to not in BULK_TITLES:
        raise OrderError(f"Orders can't become {to.label.lower()} in bulk.")
    if to == OrderStatus.CANCELLED:
        reason = required_reason(reason, "the orders are cancelled")
    ids = [getattr(o, "pk", o) for o in orders]
    with (
        transaction.atomic(),
        change_set_recording(kind=ChangeSet.Kind.BULK_ACTION, title=BULK_TITLES[to], user=user) as change_set,
    ):
        locked = list(Order.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        refused = [o for o in locked if to not in allowed_transitions(o)]
        if refused:
            names = ", ".join(f"{o.number} ({o.get_status_display().lower()})" for o in refused[:10])
            more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
            raise OrderError(
                f"Nothing changed: {len(refused)} order(s) can't become {to.label.lower()}: {names}{more}."
            )
        if to != OrderStatus.CANCELLED:
            for order in locked:
                step = _ship if to == OrderStatus.SHIPPED else _complete
                step(order, user=user, reason=f"{BULK_TITLES[to]}: {order.number}")
            return change_set
    problems = []
    with recording_change_set(change_set):
        for order in locked:
            try:
                order_cancel(order=order, reason=f"{BULK_TITLES[to]}: {reason}", user=user)
            except DomainError as error:
                problems.append(str(error))
    change_set.row_count = change_set.entries.values("content_type_id", "object_id").distinct().count()
    change_set.save(update_fields=["row_count"])
    if problems:
        raise BulkCancelIncomplete(change_set=change_set, problems=problems)
    return change_set


class BulkCancelIncomplete(OrderError):
    def __init__(self, *, change_set, problems):
        self.change_set, self.problems = change_set, problems
        super().__init__(f"{len(problems)} order(s) were not cancelled: {' '.join(problems)}")


# --- Details and notes -----------------------------------------------------------------------------------
def order_details_set(
    *, order: Order, shipping_address: str | None = None, customer=None, user=None
) -> Order:
    """Change the address (any order not shipped) or the customer (a draft); only what differs is
    written, with line endings as typed in a browser made plain."""
    with transaction.atomic():
        order = lock_order(order)
        changes = {}
        if shipping_address is not None:
            address = normalise_text(shipping_address)
            if address != order.shipping_address:
                if order.status not in (OrderStatus.DRAFT, OrderStatus.PENDING, OrderStatus.PAID):
                    raise OrderError(f"Order {order.number} has left: its address can't change any more.")
                changes["shipping_address"] = address
        if customer is not None and customer.pk != order.customer_id:
            if order.status != OrderStatus.DRAFT:
                raise OrderError(f"Order {order.number} is placed: its customer can't change.")
            changes["customer"] = customer
        if changes:
            names = ", ".join(name.replace("_", " ") for name in changes)
            order_update(order, changes, reason=f"Order {order.number}: {names} changed", user=user)
    return order


def normalise_text(text: str) -> str:
    """Browsers send text areas with CRLF line endings: stored as plain LF, so that an unchanged
    text compares equal."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def order_note_add(*, order: Order, text: str, user=None) -> OrderNote:
    text = normalise_text(text)
    if not text:
        raise OrderError("A note needs some text.")
    return OrderNote.objects.create(
        order=order, text=text, author=user if getattr(user, "is_authenticated", False) else None
    )


# --- Shared steps ---------------------------------------------------------------------------------------
def check_transition(order: Order, to: OrderStatus) -> None:
    allowed = allowed_transitions(order)
    if to not in allowed:
        current = order.get_status_display().lower()
        options = ", ".join(OrderStatus(s).label.lower() for s in allowed) or "nothing (it is final)"
        raise OrderError(
            f"Order {order.number} is {current} and can't become {OrderStatus(to).label.lower()}; "
            f"a {current} order can become: {options}."
        )


def lock_order(order: Order) -> Order:
    try:
        return Order.objects.select_for_update().get(pk=getattr(order, "pk", order))
    except Order.DoesNotExist as error:
        raise OrderError(f"Order {order} no longer exists.") from error


def order_update(order: Order, changes: dict, *, reason: str, user=None) -> None:
    """Write ``changes`` ({field: value}) to a locked order with its history row and audit entry,
    which name exactly the fields that changed."""
    now = timezone.now()
    for name, value in changes.items():
        setattr(order, name, value)
    order.updated_at = now
    columns = {
        order._meta.get_field(name).attname: getattr(order, order._meta.get_field(name).attname)
        for name in changes
    }
    Order.objects.filter(pk=order.pk).update(**columns, updated_at=now)
    history_bulk_record([order], reason=reason, user=user, changed_fields=list(changes))


__all__ = [
    "TRANSITIONS",
    "InsufficientStock",
    "OrderError",
    "PaymentDeclined",
    "PaymentError",
    "PaymentPending",
    "allowed_transitions",
    "order_bulk_transition",
    "order_cancel",
    "order_complete",
    "order_details_set",
    "order_note_add",
    "order_pay",
    "order_place",
    "order_ship",
]
