"""Writes to customers: one at a time (the admin) with a history row whose reason says why. (Many at
once come in through their import, ``orders.customer_import``.)"""

from django.core.exceptions import ValidationError

from audit.recording import save_with_reason

from ..models import Customer
from .common import OrderError


def _checked(customer: Customer) -> None:
    customer.email = customer.email.strip().lower()
    try:
        customer.full_clean()
    except ValidationError as error:
        raise OrderError("; ".join(error.messages)) from error


def customer_create(*, customer: Customer, user=None, reason: str = "Created") -> Customer:
    """Save a new customer (built, unsaved, by the caller); e-mail addresses are unique per shop."""
    _checked(customer)
    save_with_reason(customer, reason=reason, user=user)
    return customer


def customer_update(*, customer: Customer, data: dict, user=None, reason: str | None = None) -> Customer:
    for name, value in data.items():
        setattr(customer, name, value)
    _checked(customer)
    save_with_reason(customer, reason=reason or f"Edited ({', '.join(data) or 'no field'})", user=user)
    return customer
