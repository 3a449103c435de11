"""Reads about orders that several places share (admin search, dashboard, reports)."""

import datetime as dt
import re

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from core.search import search_condition

from .models import Customer, Order, OrderItem, OrderStatus
from .services import CHARGED_STATUSES, TRANSITIONS, order_transition_refusal

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

    A term shaped like an order number is one; anything else is the start of an e-mail address or words
    of the name. Customers are found first (few rows, indexed) and their orders fetched by the customer
    index.
    """
    term = term.strip()
    if not term:
        return queryset
    number = normalise_order_number(term)
    if number:
        return queryset.filter(number=number)
    # The start of an e-mail ("ada.rossi", "ada.rossi@ex") or words of the name: both, each on its index.
    customers = Customer.objects.filter(
        search_condition(term, prefix={"email": str.lower}, contains=["name"])
    )
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


# --- What a status change will do, said before it is done ------------------------------------------
def _money_text(amount) -> str:
    return f"{amount:,.2f} {settings.ORDER_CURRENCY}"


def _units_text(units: int) -> str:
    return f"{units} unit{'' if units == 1 else 's'}"


def order_transition_effects(order, to, *, units: int | None = None) -> str:
    """What moving ``order`` to status ``to`` does to money and stock, in the sentence a person
    confirms ("Refund 123.45 USD to the customer's card and return 3 units to stock."). It follows
    ``orders.services.status._apply_transition``; ``units`` (the order's units) saves a query."""
    to = OrderStatus(to)
    refusal = order_transition_refusal(order=order, to=to)
    if refusal:
        return refusal
    if to == OrderStatus.PAID:
        return f"Charge {_money_text(order.total)} to the customer's card and mark order {order.number} paid."
    if to in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        if units is None:
            units = order.items.aggregate(units=Sum("quantity"))["units"] or 0
        verb = "Cancel" if to == OrderStatus.CANCELLED else "Refund"
        money_back = order.status in CHARGED_STATUSES and bool(order.payment_reference)
        parts = []
        if money_back:
            parts.append(f"give {_money_text(order.total)} back to the customer's card")
        if units:
            parts.append(f"return {_units_text(units)} to stock")
        if not parts:
            return f"{verb} order {order.number}: no money was taken and no stock is held."
        return f"{verb} order {order.number}: {' and '.join(parts)}."
    return f"Mark order {order.number} {to.label.lower()}: no money or stock moves."


def orders_transition_effects(orders, to) -> tuple[str, list[str]]:
    """For a bulk status change: (what it does to all of them in one sentence, the orders that can't
    make it, named with their status). All or nothing: while one is refused, nothing changes."""
    to = OrderStatus(to)
    orders = list(orders.annotate(units=Sum("items__quantity"), lines=Count("items")).order_by("pk"))
    refused = [
        f"{o.number} ({o.get_status_display().lower()})" for o in orders if to not in TRANSITIONS[o.status]
    ]
    count = len(orders)
    noun = f"{count} order{'' if count == 1 else 's'}"
    if to == OrderStatus.PAID:
        total = sum(o.total for o in orders)
        return f"Charge {_money_text(total)} to the customers' cards and mark {noun} paid.", refused
    if to in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        verb = "Cancel" if to == OrderStatus.CANCELLED else "Refund"
        charged = [o for o in orders if o.status in CHARGED_STATUSES and o.payment_reference]
        units = sum(o.units or 0 for o in orders)
        parts = []
        if charged:
            money = _money_text(sum(o.total for o in charged))
            cards = f"{len(charged)} customer card{'' if len(charged) == 1 else 's'}"
            parts.append(f"give {money} back to {cards}")
        if units:
            parts.append(f"return {_units_text(units)} to stock")
        return f"{verb} {noun}" + (f": {' and '.join(parts)}." if parts else "."), refused
    return f"Mark {noun} {to.label.lower()}: no money or stock moves.", refused
