"""Reads about orders that several places share (admin search, dashboard, reports)."""

import re

from .models import Customer

ORDER_NUMBER = re.compile(r"^(?:ORD-?)?0*(\d{1,12})$", re.IGNORECASE)


def normalise_order_number(term: str) -> str | None:
    """``123``, ``ord-123`` or ``ORD-000123`` -> ``ORD-000123``; None if it isn't a number."""
    match = ORDER_NUMBER.match(term.strip())
    return f"ORD-{int(match.group(1)):06d}" if match else None


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
        customers = Customer.objects.filter(name__icontains=term)
    return queryset.filter(customer__in=customers.values("pk"))
