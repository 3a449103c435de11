"""Changing an order's lines: freely in a draft (no stock, no money), through the stock ledger and
the payments ledger once it is placed.

An edit of a paid order that changes its total is prepared first (the extra stock taken, an
``OrderEdit`` and the charge or refund of the difference written pending, committed), then the
provider is called, then the lines change, or, if the provider refused, the stock taken comes back
and the lines stay as they were. Support sees the difference before it is charged
(``order_edit_preview``) and the service refuses to move a different amount than the one seen.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from audit.recording import history_bulk_record
from core.bulk import next_ids
from inventory.models import Product, StockMovement
from inventory.services import stock_apply

from .. import billing
from ..billing import settler
from ..models import (
    EDITABLE_STATUSES,
    Customer,
    Operation,
    Order,
    OrderEdit,
    OrderItem,
    OrderStatus,
    Payment,
    order_number_for,
)
from .common import (
    OrderError,
    as_product_pk,
    as_quantities,
    as_whole_number,
    lock_order,
    money,
    normalise_text,
    order_write,
    tax_for,
)
from .details import order_lines_merge
from .refunds import credit

ZERO = Decimal("0.00")


@dataclass
class EditPlan:
    """What an edit would do: the lines before and after (as ``OrderEdit`` keeps them), the totals,
    and the stock it takes and gives back ({product id: units})."""

    order: Order
    before: list[dict]
    after: list[dict]
    total_before: Decimal
    total_after: Decimal
    taken: dict
    returned: dict

    @property
    def difference(self) -> Decimal:
        return self.total_after - self.total_before

    @property
    def changes_lines(self) -> bool:
        return bool(self.taken or self.returned)

    @property
    def moves_money(self) -> bool:
        """A paid order's total changes: the difference is charged or refunded."""
        return self.order.status == OrderStatus.PAID and self.difference != 0


def product_pk(text: str):
    """A product id as an edit keeps it (text) -> as the database gives it (a UUID)."""
    return Product._meta.pk.to_python(text)


def units_beyond(lines: list[dict], other: list[dict]) -> dict:
    """{product id: units} that ``lines`` hold beyond ``other`` (an edit's lines, as it keeps them):
    what the edit took (after beyond before) or gave back (before beyond after)."""
    held = {line["product"]: line["quantity"] for line in other}
    return {
        product_pk(line["product"]): line["quantity"] - held.get(line["product"], 0)
        for line in lines
        if line["quantity"] > held.get(line["product"], 0)
    }


def line_snapshot(product, quantity: int, unit_price: Decimal) -> dict:
    return {
        "product": str(product.pk),
        "sku": product.sku,
        "name": product.name,
        "quantity": quantity,
        "unit_price": str(unit_price),
        "line_total": str(money(unit_price * quantity)),
    }


# --- Drafts ------------------------------------------------------------------------------------------
def order_draft_create(
    *, customer: Customer, lines=None, shipping_address: str | None = None, user=None
) -> Order:
    """A draft order for ``customer``: no stock taken and nothing charged until it is placed
    (``orders.services.order_place(draft=...)``); its lines are priced as the products are now."""
    with transaction.atomic():
        ((order_id,),) = next_ids([(Order, 1)])
        order = Order(
            id=order_id,
            number=order_number_for(order_id),
            customer=customer,
            status=OrderStatus.DRAFT,
            shipping_address=normalise_text(
                shipping_address if shipping_address is not None else customer.default_shipping_address
            ),
        )
        order._change_reason = "Draft created"
        if user is not None:
            order._history_user = user
        order.save(force_insert=True)
        if lines:
            order_lines_set(order=order, quantities=lines, user=user)
            order.refresh_from_db()
    return order


# --- Line edits ---------------------------------------------------------------------------------------
def order_lines_set(
    *,
    order: Order,
    quantities,
    user=None,
    expect_difference: Decimal | None = None,
    changed=(),
    deleted=(),
) -> Order:
    """Make the order's lines hold exactly ``quantities`` ({product: quantity}; 0 removes a line);
    products not named keep their lines.

    Drafts change freely. A placed order (awaiting payment or paid) moves its stock by the
    difference; a paid one is charged or refunded the difference of its total (``expect_difference``:
    the amount support was shown; another amount is refused). Raises ``PaymentDeclined`` (nothing
    changed) or ``PaymentPending`` (the edit is finished once the provider's answer is known).
    From a page, ``changed`` and ``deleted`` are the lines the person edited (``RowEdit``s with the
    versions they opened): lines someone else changed or deleted since raise ``EditConflict``
    (``order_lines_merge``) before anything is written.
    """
    with transaction.atomic():
        order = lock_order(order)
        order_lines_merge(order, changed=changed, deleted=deleted)
        plan = _plan(order, quantities)
        if not plan.changes_lines:
            return order
        if expect_difference is not None and plan.difference != expect_difference:
            raise OrderError(
                f"Order {order.number} changed meanwhile: the edit now moves {plan.difference}, not "
                f"{expect_difference}. Check it again."
            )
        if order.status == OrderStatus.DRAFT:
            _write_plan(plan, reason=f"Draft {order.number} edited", user=user)
            return order
        billing.refuse_while_pending(order)
        reason = f"Order {order.number} edited"
        stock_apply(
            changes={pk: -units for pk, units in plan.taken.items()},
            kind=StockMovement.Kind.SALE,
            reason=reason,
            user=user,
            reference=order,
        )
        edit = OrderEdit.objects.create(
            order=order,
            user=user if getattr(user, "is_authenticated", False) else None,
            status=Operation.PENDING if plan.moves_money else Operation.DONE,
            lines_before=plan.before,
            lines_after=plan.after,
            total_before=plan.total_before,
            total_after=plan.total_after,
        )
        if not plan.moves_money:
            _apply_edit(order, edit, user=user)
            return order
        batch = billing.new_batch()
        if plan.difference > 0:
            payments = [
                billing.payment_open(
                    order=order,
                    kind=Payment.Kind.CHARGE,
                    purpose=Payment.Purpose.EDIT,
                    amount=plan.difference,
                    batch=batch,
                    user=user,
                    reason=reason,
                    order_edit=edit,
                )
            ]
        else:
            payments = billing.refunds_open(
                order=order,
                amount=-plan.difference,
                purpose=Payment.Purpose.EDIT,
                batch=batch,
                user=user,
                reason=reason,
                order_edit=edit,
            )
    what = "charge" if plan.difference > 0 else "refund"
    settlement = billing.payments_carry_out(batch, payments=payments)
    settlement.raise_unless_succeeded(
        pending=f"The payment provider didn't answer: the edit of {order.number} is finished as soon as "
        f"it says whether the {what} of {abs(plan.difference)} went through.",
        refused=f"The {what} of {abs(plan.difference)} for {order.number} was refused: its lines are as "
        f"they were.",
    )
    return settlement.order


def order_edit_preview(*, order: Order, quantities) -> EditPlan:
    """What ``order_lines_set`` would do, without writing (for the confirmation support sees)."""
    return _plan(order, quantities)


def order_lines_check(*, order: Order, quantities) -> list[str]:
    """What ``order_lines_set`` would refuse, without writing: for forms to show before saving."""
    try:
        plan = _plan(order, quantities)
    except OrderError as error:
        return [str(error)]
    if order.status == OrderStatus.DRAFT:
        return []
    problems = []
    for product in Product.objects.filter(pk__in=plan.taken):
        if product.stock < plan.taken[product.pk]:
            problems.append(
                f"Not enough stock for {product.name} ({product.sku}): {product.stock} available, "
                f"{plan.taken[product.pk]} more requested."
            )
    return problems


def order_line_add(*, order: Order, product, quantity: int, user=None) -> Order:
    pk = as_product_pk(product)
    quantity = as_whole_number(quantity, product)
    if quantity < 1:
        raise OrderError("A new line needs a quantity of at least 1.")
    current = order.items.filter(product_id=pk).values_list("quantity", flat=True).first() or 0
    return order_lines_set(order=order, quantities={pk: current + quantity}, user=user)


def order_line_change(*, line: OrderItem, quantity: int, user=None) -> Order:
    if quantity < 1:
        raise OrderError("A line's quantity must be at least 1; remove the line instead.")
    return order_lines_set(order=line.order, quantities={line.product_id: quantity}, user=user)


def order_line_remove(*, line: OrderItem, user=None) -> Order:
    return order_lines_set(order=line.order, quantities={line.product_id: 0}, user=user)


def _plan(order: Order, quantities) -> EditPlan:
    wanted = as_quantities(quantities)
    if any(quantity < 0 for quantity in wanted.values()):
        raise OrderError("A line's quantity can't be negative.")
    if order.status not in EDITABLE_STATUSES:
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()}: its lines can only change "
            f"while it is a draft, awaiting payment or paid."
        )
    lines = {line.product_id: line for line in order.items.select_related("product")}
    added = {pk for pk, quantity in wanted.items() if pk not in lines and quantity}
    products = {p.pk: p for p in Product.objects.filter(pk__in=added)}
    if len(products) != len(added):
        raise OrderError("Unknown product(s) in the lines.")
    for product in products.values():
        if not product.is_published:
            raise OrderError(f"{product.name} ({product.sku}) is not published and can't be ordered.")
    before = [line_snapshot(line.product, line.quantity, line.unit_price) for line in lines.values()]
    after = []
    for pk, line in lines.items():
        quantity = wanted.get(pk, line.quantity)
        if quantity:
            after.append(line_snapshot(line.product, quantity, line.unit_price))
    for pk in wanted:
        if pk in products:
            after.append(line_snapshot(products[pk], wanted[pk], products[pk].price))
    if not after and order.status != OrderStatus.DRAFT:
        raise OrderError(f"Order {order.number} would have no lines left: cancel the order instead.")
    old = {pk: line.quantity for pk, line in lines.items()}
    deltas = {pk: q - old.get(pk, 0) for pk, q in wanted.items() if q != old.get(pk, 0)}
    subtotal = sum((Decimal(line["line_total"]) for line in after), ZERO)
    return EditPlan(
        order=order,
        before=before,
        after=after,
        total_before=order.total,
        total_after=subtotal + tax_for(subtotal) - order.credited,
        taken={pk: d for pk, d in deltas.items() if d > 0},
        returned={pk: -d for pk, d in deltas.items() if d < 0},
    )


@settler(Payment.Purpose.EDIT)
def _edit_settled(*, order, payments, settlement):
    """The difference moved: the lines change and stock they no longer hold comes back. Refused:
    the stock the edit had taken comes back and the lines stay."""
    edit = payments[0].order_edit
    user = payments[0].user
    if settlement.all_succeeded:
        _apply_edit(order, edit, user=user)
        return
    stock_apply(
        changes=units_beyond(edit.lines_after, edit.lines_before),
        kind=StockMovement.Kind.CANCELLATION,
        reason=f"Edit of {order.number} not paid: stock put back",
        user=user,
        reference=order,
    )
    OrderEdit.objects.filter(pk=edit.pk).update(status=Operation.FAILED)
    if settlement.succeeded:  # part of a refund across charges went back: the customer has it
        credit(
            order,
            settlement.succeeded,
            reason=f"Part of the edit refund of {order.number}",
            refund=payments[0].batch,
            user=user,
        )


def _apply_edit(order: Order, edit: OrderEdit, *, user) -> None:
    """Write the edit's lines and totals, and give back the stock of the units it removed (the units
    it added were taken when it was prepared)."""
    stock_apply(
        changes=units_beyond(edit.lines_before, edit.lines_after),
        kind=StockMovement.Kind.CANCELLATION,
        reason=f"Restocked by edit of {order.number}",
        user=user,
        reference=order,
    )
    plan = EditPlan(order, edit.lines_before, edit.lines_after, edit.total_before, edit.total_after, {}, {})
    _write_plan(plan, reason=f"Order {order.number} edited", user=user)
    if edit.status != Operation.DONE:
        OrderEdit.objects.filter(pk=edit.pk).update(status=Operation.DONE)


def _write_plan(plan: EditPlan, *, reason: str, user) -> None:
    """The order's lines and totals as the plan's ``after``, each changed row with its history."""
    order = plan.order
    lines = {str(line.product_id): line for line in order.items.all()}
    wanted = {line["product"]: line for line in plan.after}
    created, changed, removed = [], [], []
    for pk, line in lines.items():
        if pk not in wanted:
            removed.append(line)
        elif wanted[pk]["quantity"] != line.quantity:
            line.quantity = wanted[pk]["quantity"]
            line.line_total = Decimal(wanted[pk]["line_total"])
            changed.append(line)
    for pk, new in wanted.items():
        if pk not in lines:
            created.append(
                OrderItem(
                    order=order,
                    product_id=new["product"],
                    quantity=new["quantity"],
                    unit_price=Decimal(new["unit_price"]),
                    line_total=Decimal(new["line_total"]),
                )
            )
    if removed:
        history_bulk_record(removed, reason=reason, user=user, history_type="-")
        OrderItem.objects.filter(pk__in=[line.pk for line in removed]).delete()
    if changed:
        OrderItem.objects.bulk_update(changed, ["quantity", "line_total"])
        history_bulk_record(changed, reason=reason, user=user, changed_fields=["quantity", "line_total"])
    if created:
        OrderItem.objects.bulk_create(created)
        history_bulk_record(created, reason=reason, user=user, history_type="+")
    subtotal = sum((Decimal(line["line_total"]) for line in plan.after), ZERO)
    tax = tax_for(subtotal)
    totals = {"subtotal": money(subtotal), "tax": tax, "total": money(subtotal) + tax - order.credited}
    changes = {name: value for name, value in totals.items() if getattr(order, name) != value}
    if changes:
        order_write(order, changes, reason=reason, user=user)
