"""Writes to customers: one at a time (the admin) with a history row whose reason says why. (Many at
once come in through their import, ``orders.customer_import``.)"""

from django.core.exceptions import ValidationError
from django.db import transaction

from audit.conflicts import copy_values, edit_merge, locked_current
from audit.recording import save_with_reason
from audit.versions import Version

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


def customer_update(
    *, customer: Customer, data: dict, user=None, reason: str | None = None, version: Version | None = None
) -> Customer:
    """Change a customer's fields (``data``) on the row as it is now, under its lock: with the
    ``version`` a person opened, on top of what others saved since (``EditConflict`` when they changed
    the same fields; nothing is written then)."""
    with transaction.atomic():
        current = locked_current(customer)
        if current is None:
            raise OrderError("This customer was deleted since it was opened: nothing was saved.")
        data = edit_merge(current, data=data, version=version)
        for name, value in data.items():
            setattr(current, name, value)
        _checked(current)
        save_with_reason(current, reason=reason or f"Edited ({', '.join(data) or 'no field'})", user=user)
    copy_values(current, customer)
    return current
