"""The order changes that may wait for approval, registered with ``approvals`` (in
``registrations``): each is made again, once approved, through the service that held it, as its
requester asked it. All move money, so they are made outside the approval's transaction (the
payment provider is never called inside one)."""

from contextlib import suppress
from decimal import Decimal

from django.conf import settings

from approvals import registry as approvals

from .billing import PaymentPending
from .models import Order, OrderStatus
from .services import order_bulk_transition, order_cancel, order_refund
from .services.holds import BULK_TRANSITION, CANCEL, REFUND, REFUND_AMOUNT


def apply_order_refund(change_request):
    payload = change_request.payload
    # Unanswered by the provider: the refund is recorded and sent, and settled once it answers.
    with suppress(PaymentPending):
        order_refund(
            order=Order.objects.get(pk=payload["order"]),
            amount=Decimal(payload["amount"]),
            returns={int(line): tuple(value) for line, value in payload["returns"].items()},
            reason=payload["reason"],
            user=change_request.requested_by,
        )


def apply_order_cancel(change_request):
    payload = change_request.payload
    with suppress(PaymentPending):  # cancelled once the provider's answer is known
        order_cancel(
            order=Order.objects.get(pk=payload["order"]),
            reason=payload["reason"],
            user=change_request.requested_by,
        )


def apply_order_bulk_transition(change_request):
    payload = change_request.payload
    return order_bulk_transition(
        orders=[Order._meta.pk.to_python(pk) for pk in payload["orders"]],
        to=OrderStatus(payload["to"]),
        reason=payload["reason"],
        user=change_request.requested_by,
    )


def register() -> None:
    approvals.rule_kind(
        approvals.RuleKind(
            name=REFUND_AMOUNT,
            label="Refund",
            template="refunds of more than {threshold} " + settings.ORDER_CURRENCY,
            every="every refund",
            order=35,
        )
    )
    approvals.operation(
        approvals.Operation(
            name=REFUND, apply=apply_order_refund, model="orders.order", outside_transaction=True
        )
    )
    approvals.operation(
        approvals.Operation(
            name=CANCEL, apply=apply_order_cancel, model="orders.order", outside_transaction=True
        )
    )
    approvals.operation(
        approvals.Operation(
            name=BULK_TRANSITION,
            apply=apply_order_bulk_transition,
            model="orders.order",
            own_change_set=True,
            outside_transaction=True,
        )
    )
