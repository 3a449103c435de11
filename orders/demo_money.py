"""The money side of the demo orders: charges and refunds in the payments ledger (and in the fake
provider's records, so that support can refund them from the admin), returns of goods, staff notes.
Written as the order service would have written them, so ``reconcile_payments`` finds nothing."""

import os
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Max

from core.bulk import copy_binary, copy_binary_into, reset_sequence

from .models import OrderNote, OrderReturn, OrderReturnLine, OrderStatus, Payment
from .services import tax_for

PAYMENT_COLUMNS = [
    "id",
    "order_id",
    "kind",
    "status",
    "purpose",
    "amount",
    "currency",
    "idempotency_key",
    "gateway_reference",
    "charge_id",
    "batch",
    "user_id",
    "reason",
    "failure",
    "created_at",
    "settled_at",
    "order_edit_id",
    "order_return_id",
]
RETURN_COLUMNS = ["id", "order_id", "user_id", "status", "reason", "created_at"]
RETURN_LINE_COLUMNS = ["order_return_id", "line_id", "quantity", "disposition"]
NOTE_COLUMNS = ["order_id", "author_id", "text", "created_at"]
PROVIDER_COLUMNS = [
    "idempotency_key",
    "params",
    "kind",
    "status",
    "reference",
    "amount",
    "currency",
    "charge_reference",
]
NOTES = [
    "Customer called: asked to leave the parcel with the neighbour.",
    "Gift: no prices on the delivery note, please.",
    "Customer asked whether the colour matches the photo; told them it does.",
    "Address checked with the customer by phone.",
]
RETURN_REASONS = ["Arrived damaged", "Wrong size", "Changed their mind", "Not as described"]


class DemoMoney:
    """Collects the rows of one batch of demo orders, then writes them (``write``)."""

    def __init__(self, *, rng, user_id, payment_id: int, return_id: int):
        """``payment_id``, ``return_id``: the ids its first payment and return take."""
        self.rng, self.user_id = rng, user_id
        self.payment_id, self.return_id = payment_id, return_id
        self.currency = settings.ORDER_CURRENCY
        self._clear()

    def _clear(self):
        self.payments, self.returns, self.return_lines, self.notes, self.provider = [], [], [], [], []

    def _payment(self, order_id, kind, purpose, amount, when, *, charge=None, reason="", return_id=None):
        pk, self.payment_id = self.payment_id, self.payment_id + 1
        run = os.urandom(6).hex()  # references unique across runs and shops, as a provider's are
        reference = f"fake_{kind[:2]}_demo{pk}{run}"
        key = f"demo-{kind}-{pk}-{run}"
        self.payments.append(
            (
                pk,
                order_id,
                kind,
                Payment.Status.SUCCEEDED,
                purpose,
                amount,
                self.currency,
                key,
                reference,
                charge[0] if charge else None,
                uuid.UUID(int=self.rng.getrandbits(128)),
                self.user_id,
                reason,
                "",
                when,
                when,
                None,
                return_id,
            )
        )
        params = {"kind": kind, "amount": str(amount), "currency": self.currency}
        if charge:
            params["charge"] = charge[1]
        self.provider.append(
            (key, params, kind, "succeeded", reference, amount, self.currency, charge[1] if charge else None)
        )
        return pk, reference

    def charge(self, order_id, number, amount, when):
        return self._payment(
            order_id, "charge", Payment.Purpose.PLACEMENT, amount, when, reason=f"Order {number} placed"
        )

    def refund(self, order_id, charge, amount, when, *, purpose, reason, return_id=None):
        return self._payment(
            order_id, "refund", purpose, amount, when, charge=charge, reason=reason, return_id=return_id
        )

    def give_back(self, order_id, number, lines, when, *, everything: bool):
        """A return of ``lines`` ((line id, quantity, unit price)) back to stock, refunded (tax included)
        to the order's charge. Everything: the whole order; else one unit of its first line."""
        pk, self.return_id = self.return_id, self.return_id + 1
        reason = self.rng.choice(RETURN_REASONS)
        self.returns.append((pk, order_id, self.user_id, "done", reason, when))
        returned = lines if everything else [(lines[0][0], 1, lines[0][2])]
        for line_id, quantity, _ in returned:
            self.return_lines.append((pk, line_id, quantity, OrderReturnLine.Disposition.RESTOCK))
        value = sum((unit * quantity for _, quantity, unit in returned), Decimal("0"))
        return pk, returned, value + tax_for(value), reason

    def maybe_note(self, order_id, when):
        if self.rng.random() < 0.08:
            self.notes.append(
                (
                    order_id,
                    self.user_id,
                    self.rng.choice(NOTES),
                    when + timedelta(minutes=self.rng.randint(5, 600)),
                )
            )

    def write(self):
        copy_binary(OrderReturn, RETURN_COLUMNS, self.returns)
        copy_binary(OrderReturnLine, RETURN_LINE_COLUMNS, self.return_lines)
        copy_binary(Payment, PAYMENT_COLUMNS, self.payments)
        copy_binary(OrderNote, NOTE_COLUMNS, self.notes)
        copy_binary_into("fake_gateway_operation", PROVIDER_COLUMNS, self.provider)
        self._clear()

    @staticmethod
    def next_ids() -> tuple[int, int]:
        """The next payment's and return's ids."""
        return (
            (Payment.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1,
            (OrderReturn.unscoped.aggregate(m=Max("id"))["m"] or 0) + 1,
        )

    @staticmethod
    def finish():
        reset_sequence(Payment)
        reset_sequence(OrderReturn)


def money_story(status: str, *, subtotal: Decimal, tax: Decimal) -> dict:
    """What the order's row says about money, by status: (credited, total)."""
    if status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return {"credited": subtotal + tax, "total": Decimal("0.00")}
    return {"credited": Decimal("0.00"), "total": subtotal + tax}
