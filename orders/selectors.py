"""Reads about orders that several places share (admin search, dashboard, reports)."""

import datetime as dt
import re

from django.utils import timezone

from .models import Customer, Order, OrderItem, OrderStatus

ORDER_NUMBER = re.compile(r"^(?:ORD-?)?0*(\d{1,12})$", re.IGNORECASE)


def normalise_order_number(term: str) -> str | None:
    """``123``, ``ord-123`` or ``ORD-000123`` -> ``ORD-000123``; None if it isn't a number."""
    match = ORDER_NUMBER.match(term.strip())
    return f"ORD-{int(match.group(1)):06d}" if match else None


def order_named_by(term: str):
    """``(Order, id)`` for a term written as an order number (``ORD-000123``), else None: how the audit
    log finds an order's entries (registered with ``audit.registry``)."""
    number = normalise_order_number(term) if term.strip().upper().startswith("ORD") else None
    return (Order, int(number[4:])) if number else None


def search_orders(queryset, term: str):
    """Orders by number (exact), or by their customer's e-mail (prefix) or name (contains).

    The term's shape says which: a number, something with ``@``, or words. Customers are found
    first (few rows, indexed) and their orders fetched by the customer index.
    """
    term = term.strip()
    if not term:
        return queryset
    number = normalise_order_number(term)
    if number:
        return queryset.filter(number=number)
    if "@" in term:
        customers = Customer.objects.filter(email__startswith=term.lower())
    else:
        customers = Customer.objects.filter(name__trigram_contains=term)
    return queryset.filter(customer__in=customers.values("pk"))


def completed_sales_lines(*, start, end):
    """Lines of completed orders placed from ``start`` to ``end`` (dates, both included), streamed.

    Uses the (status, created_at) index; rows come in server-side chunks, so memory stays flat.
    """
    zone = timezone.get_current_timezone()
    since = dt.datetime.combine(start, dt.time.min, tzinfo=zone)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return (
        OrderItem.objects.filter(
            order__status=OrderStatus.COMPLETED, order__created_at__gte=since, order__created_at__lt=until
        )
        .order_by("order__created_at", "order_id", "id")
        .values(
            "order__number",
            "order__created_at",
            "order__customer__email",
            "product__sku",
            "product__name",
            "quantity",
            "unit_price",
            "line_total",
        )
        .iterator(chunk_size=5000)
    )


def order_lines_as_of(*, order, when) -> list[tuple]:
    """The order's lines as they were at ``when``: (product, quantity, unit price, line total)."""
    history = OrderItem.history.model.objects.filter(order_id=order.pk, history_date__lte=when)
    latest = {}
    for row in history.select_related("product").order_by("id", "-history_date", "-history_id"):
        latest.setdefault(row.id, row)
    return [
        (row.product, row.quantity, row.unit_price, row.line_total)
        for row in latest.values()
        if row.history_type != "-"
    ]


def lines_with_stock(order) -> list:
    """The order's lines with their product (its stock now), in the order's order."""
    return list(order.items.select_related("product").order_by("id"))


def returnable_lines(order) -> list:
    """The order's lines, each with ``units_back`` (units back in returns that didn't fail) and
    ``returnable`` (units still with the customer)."""
    from .services import returned_quantities

    returned = returned_quantities(order)
    lines = lines_with_stock(order)
    for line in lines:
        line.units_back = returned.get(line.pk, 0)
        line.returnable = line.quantity - line.units_back
    return lines


def cancellation_preview(order) -> dict:
    """What cancelling ``order`` would do: the refunds per charge, and the units back on the shelf."""
    from . import billing
    from .billing import DomainError

    refundable = billing.order_refundable(order)
    try:
        refunds = billing.refunds_allocate(order, refundable) if refundable > 0 else []
    except DomainError:
        refunds = []
    restock = [] if order.is_draft else [line for line in returnable_lines(order) if line.returnable]
    return {"refunds": refunds, "refund_total": refundable, "restock": restock}


def order_charges(order) -> list:
    """The order's succeeded charges with what was refunded from them and what is left, newest first."""
    from . import billing

    return billing.charges_refundable(order)


def orders_bulk_effects(orders, to) -> tuple[str, list[str]]:
    """For shipping or completing several orders: what it does in one sentence, and the orders that
    can't make the change, named with their status (all or nothing: while one can't, none changes)."""
    from .models import OrderStatus
    from .services import allowed_transitions

    to = OrderStatus(to)
    refused = [
        f"{o.number} ({o.get_status_display().lower()})" for o in orders if to not in allowed_transitions(o)
    ]
    noun = f"{len(orders)} order{'' if len(orders) == 1 else 's'}"
    return f"Mark {noun} {to.label.lower()}: no money or stock moves.", refused
