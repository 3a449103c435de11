"""The payments ledger: every charge and refund is a ``Payment`` row, and money moves in three steps.

1. **Prepare**, in the caller's transaction (which holds the order's row lock and, for a placement
   or an edit, has taken the stock): ``payment_open`` writes the payment ``pending`` with a fresh
   idempotency key. The transaction commits.
2. **Send**, with no transaction open and no lock held: ``payments_carry_out`` calls the provider
   with that key. A slow provider stalls nobody else.
3. **Settle**, in a new transaction that locks the order again: the outcome is written on the payment,
   and once every payment of the batch is settled, what the operation does when its money has moved
   (or not) is applied exactly once: the settler its purpose registered in ``SETTLERS``.

A crash or a timeout between the steps leaves pending payments: ``payments_resolve`` (a periodic
Celery task) asks the provider about their keys and settles them, so an order is never paid without
money, money is never taken without an order, and stock taken for an unpaid order comes back.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.recording import rows_write_with_history
from core.bulk import instance_rows
from core.exceptions import DomainError
from core.prepared import prepared_pipeline

from .models import Order, Payment
from .payments import GatewayOperation, GatewayUnavailable, PaymentDeclined, PaymentError, payment_gateway

logger = logging.getLogger(__name__)
ZERO = Decimal("0.00")


class PaymentPending(PaymentError):
    """The provider didn't answer: the operation waits, and is finished when it is known what the
    provider did (``payments_resolve``, run every minute)."""


@dataclass
class Settlement:
    """How a batch of payments ended: ``done`` once none is pending."""

    order: Order
    done: bool
    asked: Decimal = ZERO
    succeeded: Decimal = ZERO
    failures: list[str] = field(default_factory=list)
    payments: list = field(default_factory=list)
    known: dict = field(default_factory=dict)  # what the caller knew (an order's lines), for the settler

    @property
    def all_succeeded(self) -> bool:
        return self.done and self.succeeded == self.asked

    def raise_unless_succeeded(self, *, pending: str, refused: str) -> None:
        """Raise ``PaymentPending`` (with ``pending``) or ``PaymentDeclined`` (``refused`` and the
        provider's reasons) unless all of the batch's money moved."""
        if not self.done:
            raise PaymentPending(pending)
        if not self.all_succeeded:
            reasons = " ".join(self.failures)
            raise PaymentDeclined(f"{refused} The payment provider said: {reasons}".strip())


# purpose -> function(order, payments, settlement) applying the operation once its money is settled.
SETTLERS: dict[str, Callable] = {}


def settler(purpose: str):
    def register(function):
        SETTLERS[purpose] = function
        return function

    return register


# --- step 1 -------------------------------------------------------------------------------------
def payment_open(
    *,
    order: Order,
    kind: str,
    purpose: str,
    amount: Decimal,
    batch: uuid.UUID,
    charge: Payment | None = None,
    user=None,
    reason: str = "",
    order_edit=None,
    order_return=None,
    with_history: bool = False,
) -> Payment:
    """A pending payment of ``order``, in the caller's transaction (which holds the order's lock).

    ``with_history``: written with the rows of the open ``history_batch`` (placing an order writes
    its order, lines, stock movements and charge in one round trip); the payment then has no id.
    """
    if not transaction.get_connection().in_atomic_block:
        raise DomainError("A payment is opened in the transaction that locks its order.")
    if amount <= 0:
        raise DomainError(f"A payment needs an amount above zero, not {amount}.")
    payment = Payment(
        order=order,
        kind=kind,
        purpose=purpose,
        amount=amount,
        currency=settings.ORDER_CURRENCY,
        idempotency_key=new_idempotency_key(),
        charge=charge,
        batch=batch,
        user=user if getattr(user, "is_authenticated", False) else None,
        reason=reason,
        order_edit=order_edit,
        order_return=order_return,
    )
    if with_history:
        columns, (row,) = instance_rows([payment])
        at = columns.index("id")  # taken by the database's sequence
        rows_write_with_history(Payment, columns[:at] + columns[at + 1 :], [row[:at] + row[at + 1 :]])
    else:
        payment.save()
    return payment


def new_batch() -> uuid.UUID:
    return uuid.uuid4()


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def charges_refundable(order: Order) -> list[Payment]:
    """The order's succeeded charges, newest first, each with ``refundable``: what it captured minus
    its refunds that did not fail (a pending refund is spoken for). Read under the order's lock."""
    return list(Payment.objects.filter(order=order).charges_with_refundable().order_by("-created_at", "-id"))


def order_refundable(order: Order) -> Decimal:
    return sum((charge.refundable for charge in charges_refundable(order)), ZERO)


def refunds_allocate(order: Order, amount: Decimal) -> list[tuple[Payment, Decimal]]:
    """(charge, amount) pairs giving back ``amount``: the newest charge first (an edit's extra
    charge before the original), none above what is left on it. Refuses more than is refundable."""
    plan, left = [], amount
    for charge in charges_refundable(order):
        if left <= 0:
            break
        part = min(left, charge.refundable)
        if part > 0:
            plan.append((charge, part))
            left -= part
    if left > 0:
        refundable = amount - left
        raise DomainError(
            f"{order.number}: {amount} can't be refunded; {refundable} is left to refund on its charges."
        )
    return plan


def refunds_open(
    *, order, amount, purpose, batch, user=None, reason="", order_return=None, order_edit=None
) -> list[Payment]:
    """Pending refunds giving back ``amount`` across the order's charges (``refunds_allocate``)."""
    return [
        payment_open(
            order=order,
            kind=Payment.Kind.REFUND,
            purpose=purpose,
            amount=part,
            batch=batch,
            charge=charge,
            user=user,
            reason=reason,
            order_return=order_return,
            order_edit=order_edit,
        )
        for charge, part in refunds_allocate(order, amount)
    ]


def order_has_pending_payments(order: Order, *, except_purpose: str | None = None) -> bool:
    pending = Payment.objects.filter(order=order, status=Payment.Status.PENDING)
    if except_purpose:
        pending = pending.exclude(purpose=except_purpose)
    return pending.exists()


def refuse_while_pending(order: Order, *, except_purpose: str | None = None) -> None:
    """One money operation at a time per order (refunds may run beside other refunds: each counts
    the others' pending amounts against what is refundable)."""
    if order_has_pending_payments(order, except_purpose=except_purpose):
        raise DomainError(
            f"Order {order.number} has a payment under way with the payment provider; try again once "
            f"it is settled (within a minute or two)."
        )


# --- steps 2 and 3 -------------------------------------------------------------------------------
def in_a_transaction() -> bool:
    """Whether code opened a transaction that is still open (the one a test case wraps around
    each test doesn't count: it stands for the autocommit of a real run)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def payments_carry_out(
    batch: uuid.UUID, *, payments: list | None = None, known: dict | None = None
) -> Settlement:
    """Send the batch's pending payments to the provider, then settle what it answered.

    ``payments``: the batch as its caller just wrote it (saves reading it back; placing an order
    passes its charge); ``known``: what the caller knows that its settler would otherwise read
    (an order's lines)."""
    if in_a_transaction():
        raise DomainError("The payment provider is never called inside a transaction.")
    gateway = payment_gateway()
    if payments is None:
        payments = list(
            Payment.objects.filter(batch=batch, status=Payment.Status.PENDING)
            .select_related("charge", "order")
            .order_by("id")
        )
    if not payments:
        raise DomainError(f"No pending payments in batch {batch}.")
    outcomes = {payment.idempotency_key: _send(gateway, payment) for payment in payments}
    return payments_settle(
        batch=batch, outcomes=outcomes, order_id=payments[0].order_id, payments=payments, known=known
    )


def _send(gateway, payment: Payment) -> GatewayOperation | None:
    """What the provider did with the payment, or None when that is unknown (no answer)."""
    try:
        if payment.kind == Payment.Kind.CHARGE:
            reference = gateway.charge(
                amount=payment.amount,
                currency=payment.currency,
                idempotency_key=payment.idempotency_key,
                description=f"{payment.order.number}: {payment.get_purpose_display().lower()}",
            )
        else:
            reference = gateway.refund(
                charge_reference=payment.charge.gateway_reference,
                amount=payment.amount,
                currency=payment.currency,
                idempotency_key=payment.idempotency_key,
            )
    except PaymentDeclined as declined:
        return GatewayOperation(payment.kind, False, "", payment.amount, payment.currency, str(declined))
    except GatewayUnavailable:
        logger.warning("Payment %s: no answer from the provider; asking what it did", payment.idempotency_key)
        return _look_up(gateway, payment)
    return GatewayOperation(payment.kind, True, reference, payment.amount, payment.currency)


def _look_up(gateway, payment: Payment) -> GatewayOperation | None:
    try:
        return gateway.lookup(idempotency_key=payment.idempotency_key)
    except GatewayUnavailable:
        return None


def payments_settle(
    *,
    batch: uuid.UUID,
    outcomes: dict,
    order_id=None,
    payments: list | None = None,
    known: dict | None = None,
) -> Settlement:
    """Write the known outcomes ({idempotency key: GatewayOperation or None}) of the batch's pending
    payments; when that settles the batch's last one, apply its purpose's settler (exactly once:
    the order's row lock makes concurrent settlers of one batch take turns, and an outcome is only
    written on a payment still pending).

    ``payments``: every payment of the batch, as written pending by the caller: when this call
    settles them all, they need not be read back."""
    if order_id is None:
        order_id = Payment.objects.filter(batch=batch).values_list("order_id", flat=True).first()
        if order_id is None:
            raise DomainError(f"No payments in batch {batch}.")
    with transaction.atomic():
        now = timezone.now()
        known_outcomes = [(key, outcome) for key, outcome in outcomes.items() if outcome is not None]
        writes = [_outcome_statement(key, outcome, now=now) for key, outcome in known_outcomes]
        order, recorded = _lock_order_and_write(
            order_id, writes, known=payments[0].order if payments else None
        )
        # An outcome is only written on a payment still pending (not settled by someone else).
        settled = {
            key for (key, _), cursor in zip(known_outcomes, recorded, strict=True) if cursor.rowcount == 1
        }
        if payments is not None and len(settled) == len(payments):
            for payment in payments:  # all of them were pending and are settled by this call
                _apply_outcome(payment, outcomes[payment.idempotency_key], now=now)
        else:
            payments = list(Payment.objects.filter(batch=batch).select_related("charge").order_by("id"))
        settlement = _settlement(order, payments)
        settlement.known = known or {}
        if settlement.done and settled:
            SETTLERS[payments[0].purpose](order=order, payments=payments, settlement=settlement)
    return settlement


def _lock_order_and_write(order_id, writes: list, *, known: Order | None) -> tuple[Order, list]:
    """The order, row-locked, then ``writes`` run (prepared): (the order, their cursors). ``known``:
    the caller's copy, used when the order hasn't changed since (the same ``updated_at``; reading it
    back cost more than the rest of the settlement); the lock and the writes then go in one round
    trip, the lock first."""
    if known is None or known.pk != order_id or known.updated_at is None:
        order = Order.objects.select_for_update().get(pk=order_id)
        return order, prepared_pipeline(writes) if writes else []
    lock, *recorded = prepared_pipeline(
        [("SELECT updated_at FROM orders_order WHERE id = %s FOR UPDATE", [order_id]), *writes]
    )
    row = lock.fetchone()
    if row is not None and row[0] == known.updated_at:
        return known, recorded
    return Order.objects.select_for_update().get(pk=order_id), recorded


def _outcome_statement(key: str, outcome: GatewayOperation, *, now) -> tuple[str, list]:
    """The one UPDATE the ledger allows (migration 0003's trigger): a pending payment gets its
    outcome; it changes no row when the payment was no longer pending (settled by someone else)."""
    status = Payment.Status.SUCCEEDED if outcome.succeeded else Payment.Status.FAILED
    failure = "" if outcome.succeeded else (outcome.message or "Refused by the payment provider.")
    return (
        "UPDATE orders_payment SET status = %s, gateway_reference = %s, failure = %s, settled_at = %s "
        "WHERE idempotency_key = %s AND status = 'pending'",
        [str(status), outcome.reference if outcome.succeeded else "", failure, now, key],
    )


def _apply_outcome(payment: Payment, outcome: GatewayOperation, *, now) -> None:
    """The in-memory payment as ``_record_outcome`` wrote it."""
    if outcome.succeeded:
        payment.status, payment.gateway_reference = Payment.Status.SUCCEEDED, outcome.reference
    else:
        payment.status = Payment.Status.FAILED
        payment.failure = outcome.message or "Refused by the payment provider."
    payment.settled_at = now


def _settlement(order, payments) -> Settlement:
    return Settlement(
        order=order,
        done=all(p.status != Payment.Status.PENDING for p in payments),
        asked=sum((p.amount for p in payments), ZERO),
        succeeded=sum((p.amount for p in payments if p.status == Payment.Status.SUCCEEDED), ZERO),
        failures=[p.failure for p in payments if p.status == Payment.Status.FAILED],
        payments=payments,
    )


# --- the periodic resolution --------------------------------------------------------------------------
def payments_resolve(*, older_than: float | None = None) -> dict:
    """Settle the payments left pending for more than ``older_than`` seconds (a crash or a timeout
    between the steps), in the open shop: the provider's look-up by idempotency key says what it did;
    a key it never received is a payment that didn't happen. Returns counts by outcome."""
    if older_than is None:
        older_than = settings.PAYMENT_PENDING_SECONDS
    gateway = payment_gateway()
    cutoff = timezone.now() - timedelta(seconds=older_than)
    counts = {"succeeded": 0, "failed": 0, "unknown": 0}
    stale = Payment.objects.filter(status=Payment.Status.PENDING, created_at__lte=cutoff).order_by(
        "created_at"
    )
    for batch in list(dict.fromkeys(stale.values_list("batch", flat=True)[:500])):
        outcomes = {}
        for payment in Payment.objects.filter(batch=batch, status=Payment.Status.PENDING):
            try:
                found = gateway.lookup(idempotency_key=payment.idempotency_key)
            except GatewayUnavailable:
                counts["unknown"] += 1
                continue
            if found is None:
                found = GatewayOperation(
                    payment.kind,
                    False,
                    "",
                    payment.amount,
                    payment.currency,
                    "The payment provider never received this request (resolved after it stayed pending).",
                )
            outcomes[payment.idempotency_key] = found
            counts["succeeded" if found.succeeded else "failed"] += 1
        if outcomes:
            payments_settle(batch=batch, outcomes=outcomes)
    return counts
