"""The command palette's orders and customers (registered in ``orders.registrations``): orders by
number, customers by e-mail prefix or words of the name, on their indexes."""

from core.search import command_matches, search_result

from .models import Customer, Order
from .selectors import normalise_order_number

SEARCH_LIMIT = 10


def search_orders(term: str) -> list:
    number = normalise_order_number(term)
    if not number:
        return []
    found = Order.objects.select_related("customer").filter(number=number)[:SEARCH_LIMIT]
    return [
        search_result(o, f"Order · {o.get_status_display()} · {o.customer.email}", "receipt_long")
        for o in found
    ]


def search_customers(term: str) -> list:
    customers = command_matches(Customer.objects.all(), term, prefix={"email": str.lower}, contains=["name"])
    found = sorted(customers[:SEARCH_LIMIT], key=lambda c: c.email)
    return [search_result(c, "Customer", "person") for c in found]
