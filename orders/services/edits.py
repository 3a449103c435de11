"""Support's edits of an order: its lines (stock moves by the difference, totals recomputed, a paid
order charged or refunded the difference), its delivery address and note."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from audit.recording import history_bulk_record, save_with_reason
from inventory.models import Product, StockMovement
from inventory.services import stock_apply

from .. import payments
from ..models import Order, OrderItem, OrderStatus
from .common import OrderError, as_quantities, lock_order, money, tax_for


def order_lines_set(*, order: Order, quantities, user=None) -> Order:
    """Make the order's lines hold exactly ``quantities`` ({product: quantity}; 0 removes a line).

    Products not named keep their lines. Stock moves by the difference, totals are recomputed and,
    for a paid order, the difference is charged or refunded. Only pending and paid orders can change.
    """
    wanted = as_quantities(quantities)
    if any(quantity < 0 for quantity in wanted.values()):
        raise OrderError("A line's quantity can't be negative.")
    with transaction.atomic():
        order = lock_order(order)
        if not order.is_editable:
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


def order_lines_check(*, order: Order, quantities) -> list[str]:
    """What ``order_lines_set`` would refuse, without writing: for forms to show before saving."""
    problems = []
    if not order.is_editable:
        problems.append(f"Order {order.number} is {order.get_status_display().lower()}: lines are read-only.")
        return problems
    wanted = as_quantities(quantities)
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
    save_with_reason(
        order, update_fields=["subtotal", "tax", "total", "updated_at"], reason=reason, user=user
    )


def _settle_difference(order: Order, *, old_total: Decimal) -> None:
    """A paid order whose total changed: charge the extra, or give the difference back."""
    if order.status != OrderStatus.PAID or order.total == old_total:
        return
    gateway = payments.payment_gateway()
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


def order_update(*, order: Order, data: dict, user=None, reason: str | None = None) -> Order:
    """Change what support may edit on an order's page: its note, and its delivery address while the
    order may still change (pending or paid). Status, customer and money change through their own
    services, never here."""
    refused = sorted(set(data) - {"shipping_address", "internal_note"})
    if refused:
        raise OrderError(f"{', '.join(refused)} of an order change through its actions, not by editing.")
    with transaction.atomic():
        order = lock_order(order)
        moves = data.get("shipping_address", order.shipping_address) != order.shipping_address
        if moves and not order.is_editable:
            status = order.get_status_display().lower()
            raise OrderError(f"Order {order.number} is {status}: its delivery address can't change.")
        for name, value in data.items():
            setattr(order, name, value)
        save_with_reason(
            order,
            update_fields=[*data, "updated_at"],
            reason=reason or f"Order {order.number} edited ({', '.join(data) or 'no field'})",
            user=user,
        )
    return order
