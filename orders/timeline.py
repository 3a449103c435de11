"""An order's story for its page, newest first: created, placed, each charge and refund with its amount
and reference, each edit with its lines before and after and the money it moved, status and address
changes, returns, and staff notes. Read from the records themselves (history, payments, edits,
returns, notes): six queries, whatever the order's length."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.money import format_money

from .models import Operation, OrderStatus, Payment


@dataclass
class Event:
    when: datetime
    title: str
    icon: str
    tone: str = "default"  # default, success, warning, danger, info
    who: str = ""
    amount: Decimal | None = None
    reference: str = ""
    details: list[str] = field(default_factory=list)
    text: str = ""  # a note's words, shown as written

    @property
    def amount_text(self) -> str:
        return format_money(self.amount) if self.amount is not None else ""


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def order_timeline(order) -> list[Event]:
    events = [
        *_history_events(order),
        *_payment_events(order),
        *_edit_events(order),
        *_return_events(order),
        *_note_events(order),
    ]
    return sorted(events, key=lambda event: event.when, reverse=True)


def _history_events(order):
    rows = list(order.history.select_related("history_user").order_by("history_date", "history_id"))
    previous = None
    for row in rows:
        who = _name(row.history_user)
        if previous is None:
            if row.status == OrderStatus.DRAFT:
                # A draft is written before its lines: its first total is no amount worth showing.
                yield Event(row.history_date, "Draft created", "edit_note", who=who, amount=row.total or None)
            else:
                yield Event(row.history_date, "Placed", "shopping_cart", "info", who, amount=row.total)
        else:
            if row.status != previous.status:
                yield _status_event(row, previous, who)
            if row.shipping_address != previous.shipping_address:
                yield Event(
                    row.history_date,
                    "Shipping address changed",
                    "home",
                    who=who,
                    details=[f"Was: {previous.shipping_address or '(none)'}", f"Now: {row.shipping_address}"],
                )
        previous = row


def _status_event(row, previous, who) -> Event:
    new, old = OrderStatus(row.status), OrderStatus(previous.status)
    if old == OrderStatus.DRAFT and new in (OrderStatus.PENDING, OrderStatus.PAID):
        return Event(row.history_date, "Placed", "shopping_cart", "info", who, amount=row.total)
    tone = {
        OrderStatus.PAID: "success",
        OrderStatus.SHIPPED: "info",
        OrderStatus.COMPLETED: "success",
        OrderStatus.CANCELLED: "danger",
        OrderStatus.REFUNDED: "warning",
        OrderStatus.PARTIALLY_REFUNDED: "warning",
        OrderStatus.DRAFT: "warning",
    }.get(new, "default")
    details = [row.history_change_reason] if row.history_change_reason else []
    return Event(row.history_date, f"{old.label} → {new.label}", "swap_horiz", tone, who, details=details)


PAYMENT_TITLES = {
    (Payment.Kind.CHARGE, Payment.Status.SUCCEEDED): ("Charged", "payments", "success"),
    (Payment.Kind.CHARGE, Payment.Status.PENDING): ("Charge under way", "hourglass_top", "warning"),
    (Payment.Kind.CHARGE, Payment.Status.FAILED): ("Charge refused", "credit_card_off", "danger"),
    (Payment.Kind.REFUND, Payment.Status.SUCCEEDED): ("Refunded", "currency_exchange", "warning"),
    (Payment.Kind.REFUND, Payment.Status.PENDING): ("Refund under way", "hourglass_top", "warning"),
    (Payment.Kind.REFUND, Payment.Status.FAILED): ("Refund refused", "money_off", "danger"),
}


def _payment_events(order):
    payments = order.payments.select_related("user", "charge").order_by("created_at", "id")
    for payment in payments:
        title, icon, tone = PAYMENT_TITLES[(payment.kind, payment.status)]
        details = [payment.get_purpose_display()]
        # Reasons the services write ("Order ORD-1 placed") repeat the purpose; staff's own are kept.
        if payment.reason and payment.reason not in details and order.number not in payment.reason:
            details.append(payment.reason)
        if payment.charge_id:
            details.append(f"Back to charge {payment.charge.gateway_reference}")
        if payment.failure:
            details.append(f"The provider said: {payment.failure}")
        yield Event(
            payment.settled_at or payment.created_at,
            title,
            icon,
            tone,
            _name(payment.user),
            amount=payment.amount,
            reference=payment.gateway_reference,
            details=details,
        )


def _edit_events(order):
    for edit in order.edits.select_related("user").prefetch_related("payments").order_by("created_at"):
        details = line_changes(edit.lines_before, edit.lines_after)
        moved = [p for p in edit.payments.all() if p.status == Payment.Status.SUCCEEDED]
        for payment in moved:
            verb = "charged" if payment.kind == Payment.Kind.CHARGE else "refunded"
            details.append(f"{format_money(payment.amount)} {verb} ({payment.gateway_reference})")
        details.append(f"Total {format_money(edit.total_before)} → {format_money(edit.total_after)}")
        title = {
            Operation.DONE: "Lines edited",
            Operation.PENDING: "Edit waiting for its payment",
            Operation.FAILED: "Edit not made: the payment was refused",
        }[edit.status]
        tone = {Operation.DONE: "info", Operation.PENDING: "warning", Operation.FAILED: "danger"}[edit.status]
        yield Event(
            edit.created_at, title, "edit", tone, _name(edit.user), amount=edit.difference, details=details
        )


def line_changes(before: list[dict], after: list[dict]) -> list[str]:
    """``Blue mug (MUG-1): 2 → 5``, ``added``, ``removed``: what an edit did to each line."""
    old = {line["product"]: line for line in before}
    new = {line["product"]: line for line in after}
    changes = []
    for pk, line in old.items():
        label = f"{line['name']} ({line['sku']})"
        if pk not in new:
            changes.append(f"{label}: {line['quantity']} → removed")
        elif new[pk]["quantity"] != line["quantity"]:
            changes.append(f"{label}: {line['quantity']} → {new[pk]['quantity']}")
    for pk, line in new.items():
        if pk not in old:
            changes.append(f"{line['name']} ({line['sku']}): added, {line['quantity']}")
    return changes


def _return_events(order):
    returns = order.returns.select_related("user").prefetch_related("lines__line__product", "payments")
    for order_return in returns.order_by("created_at"):
        details = [
            f"{line.quantity} x {line.line.product.name} ({line.line.product.sku}): "
            f"{line.get_disposition_display().lower()}"
            for line in order_return.lines.all()
        ]
        details.append(f"Reason: {order_return.reason}")
        refunded = sum(
            (p.amount for p in order_return.payments.all() if p.status == Payment.Status.SUCCEEDED),
            Decimal("0"),
        )
        title = {
            Operation.DONE: "Goods returned",
            Operation.PENDING: "Return waiting for its refund",
            Operation.FAILED: "Return not taken in: the refund was refused",
        }[order_return.status]
        yield Event(
            order_return.created_at,
            title,
            "assignment_return",
            "warning" if order_return.status != Operation.FAILED else "danger",
            _name(order_return.user),
            amount=refunded or None,
            details=details,
        )


def _note_events(order):
    for note in order.notes.select_related("author"):
        yield Event(note.created_at, "Note", "sticky_note_2", who=_name(note.author), text=note.text)
