"""The order services: the only way an order's status, lines, stock and money change.

Rows are locked in a fixed order: the order first, then its products in primary-key order (through
``inventory.services.stock_apply``), so two operations never deadlock. Money moves in three steps
(``orders.billing``): the operation is prepared and committed (stock taken, payments written
pending), the provider is called with no transaction open, and the outcome is settled in a new
transaction. Importing this package registers what settles each kind of payment.
"""

from inventory.services import InsufficientStock

from ..billing import PaymentPending
from ..payments import PaymentDeclined, PaymentError
from .common import (
    TRANSITIONS,
    OrderError,
    allowed_transitions,
    as_quantities,
    check_transition,
    lock_order,
    money,
    normalise_text,
    order_write,
    tax_for,
)
from .customers import customer_create, customer_update
from .details import order_lines_merge, order_note_add, order_page_check, order_update
from .edits import (
    order_draft_create,
    order_edit_preview,
    order_line_add,
    order_line_change,
    order_line_remove,
    order_lines_check,
    order_lines_set,
)
from .placement import order_pay, order_place
from .refunds import REFUNDABLE_STATUSES, order_refund, order_refund_preview, returned_quantities
from .status import (
    BULK_TITLES,
    BulkCancelIncomplete,
    order_bulk_transition,
    order_cancel,
    order_complete,
    order_ship,
    order_transition,
    order_undo_refuse,
)

__all__ = [
    "BULK_TITLES",
    "REFUNDABLE_STATUSES",
    "TRANSITIONS",
    "BulkCancelIncomplete",
    "InsufficientStock",
    "OrderError",
    "PaymentDeclined",
    "PaymentError",
    "PaymentPending",
    "allowed_transitions",
    "as_quantities",
    "check_transition",
    "customer_create",
    "customer_update",
    "lock_order",
    "money",
    "normalise_text",
    "order_bulk_transition",
    "order_cancel",
    "order_complete",
    "order_draft_create",
    "order_edit_preview",
    "order_line_add",
    "order_line_change",
    "order_line_remove",
    "order_lines_check",
    "order_lines_merge",
    "order_lines_set",
    "order_note_add",
    "order_page_check",
    "order_pay",
    "order_place",
    "order_refund",
    "order_refund_preview",
    "order_ship",
    "order_transition",
    "order_undo_refuse",
    "order_update",
    "order_write",
    "returned_quantities",
    "tax_for",
]
