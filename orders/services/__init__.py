"""The order service: the only way an order's lines, stock and money change; and customers' writes.

Every function runs in one transaction. Rows are locked in a fixed order: the order first, then its
products in primary-key order (through ``inventory.services.stock_apply``), so two edits never
deadlock. Money moves through the payment gateway; a charge is given back if the writes that follow
it fail, and a failed charge writes nothing.

- ``placement``: placing an order; ``edits``: support's edits (lines, address, note);
- ``status``: transitions (pay, ship, complete, cancel, refund), one order or many;
- ``customers``: creating and editing customers.
"""

from inventory.services import InsufficientStock

from ..payments import PaymentError
from .common import OrderError, money, tax_for
from .customers import customer_create, customer_update
from .edits import order_lines_check, order_lines_set, order_update
from .placement import order_place
from .status import (
    BULK_TITLES,
    CHARGED_STATUSES,
    TRANSITIONS,
    order_bulk_transition,
    order_transition,
    order_transition_refusal,
    order_undo_refuse,
)

__all__ = [
    "BULK_TITLES",
    "CHARGED_STATUSES",
    "TRANSITIONS",
    "InsufficientStock",
    "OrderError",
    "PaymentError",
    "customer_create",
    "customer_update",
    "money",
    "order_bulk_transition",
    "order_lines_check",
    "order_lines_set",
    "order_place",
    "order_transition",
    "order_transition_refusal",
    "order_undo_refuse",
    "order_update",
    "tax_for",
]
