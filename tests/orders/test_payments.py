"""The payments ledger and the fake provider: what they refuse, and what reconcile_payments finds."""

import io
import uuid
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from orders.models import Order, OrderStatus, Payment
from orders.payments import FakePaymentGateway, PaymentDeclined
from orders.services import order_place, order_refund, order_ship

pytestmark = pytest.mark.django_db


def key():
    return uuid.uuid4().hex


def test_the_database_refuses_to_rewrite_or_delete_a_payment(make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    charge = Payment.objects.get(order=order)

    for statement in (
        "UPDATE orders_payment SET amount = amount + 1 WHERE id = %s",
        "UPDATE orders_payment SET status = 'failed' WHERE id = %s",  # an outcome is written once
        "DELETE FROM orders_payment WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="payments are append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [charge.pk])
    charge.refresh_from_db()
    assert (charge.status, charge.amount) == ("succeeded", order.total)


def test_a_pending_payment_gets_its_outcome_once_and_nothing_else_changes_with_it(
    make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
    with transaction.atomic():
        pending = Payment.objects.create(
            order=order,
            kind="charge",
            purpose="payment",
            amount=order.total,
            currency="USD",
            idempotency_key=key(),
            batch=uuid.uuid4(),
        )
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Payment.objects.filter(pk=pending.pk).update(status="succeeded", gateway_reference="x", amount=1)
    Payment.objects.filter(pk=pending.pk).update(
        status="failed", failure="Declined", settled_at=order.created_at
    )
    assert Payment.objects.get(pk=pending.pk).status == "failed"


def test_balance_is_total_minus_paid_plus_refunded_in_lists(make_product, make_customer, gateway):
    mug = make_product(price="10.00", stock=20)
    paid = order_place(customer=make_customer(), lines={mug: 2})
    due = order_place(customer=make_customer(), lines={mug: 1}, charge=False)
    order_ship(order=paid)
    order_refund(order=paid, amount=Decimal("5.00"), reason="Late delivery")

    rows = {o.pk: o for o in Order.objects.with_money()}
    assert (rows[paid.pk].total, rows[paid.pk].paid, rows[paid.pk].refunded) == (
        Decimal("16.60"),
        Decimal("21.60"),
        Decimal("5.00"),
    )
    for order in rows.values():
        assert order.balance == order.total - order.paid + order.refunded
    assert rows[paid.pk].balance == 0 and rows[due.pk].balance == Decimal("10.80")
    assert rows[paid.pk].status == OrderStatus.PARTIALLY_REFUNDED


def test_the_fake_provider_refuses_what_a_real_one_refuses():
    provider = FakePaymentGateway()
    with pytest.raises(PaymentDeclined, match="above zero"):
        provider.charge(amount=Decimal("-1.00"), currency="USD", idempotency_key=key(), description="x")
    with pytest.raises(PaymentDeclined, match="above zero"):
        provider.charge(amount=Decimal("0"), currency="USD", idempotency_key=key(), description="x")
    with pytest.raises(PaymentDeclined, match="No such charge"):
        provider.refund(
            charge_reference="ch_nobody", amount=Decimal("1"), currency="USD", idempotency_key=key()
        )

    charge = provider.charge(amount=Decimal("30.00"), currency="USD", idempotency_key=key(), description="x")
    provider.refund(charge_reference=charge, amount=Decimal("20.00"), currency="USD", idempotency_key=key())
    with pytest.raises(PaymentDeclined, match=r"exceeds what is left on charge .*: 10.00 of 30.00"):
        provider.refund(
            charge_reference=charge, amount=Decimal("10.01"), currency="USD", idempotency_key=key()
        )
    with pytest.raises(PaymentDeclined, match="was in USD, not EUR"):
        provider.refund(
            charge_reference=charge, amount=Decimal("1.00"), currency="EUR", idempotency_key=key()
        )
    with pytest.raises(PaymentDeclined, match="above zero"):
        provider.refund(charge_reference=charge, amount=Decimal("-5"), currency="USD", idempotency_key=key())
    provider.refund(charge_reference=charge, amount=Decimal("10.00"), currency="USD", idempotency_key=key())


def test_the_fake_provider_does_a_request_once_per_idempotency_key():
    provider = FakePaymentGateway()
    once = key()
    first = provider.charge(amount=Decimal("12.00"), currency="USD", idempotency_key=once, description="x")
    again = provider.charge(amount=Decimal("12.00"), currency="USD", idempotency_key=once, description="x")
    assert again == first  # a retry after a timeout charges nothing more
    with pytest.raises(PaymentDeclined, match="already used for another request"):
        provider.charge(amount=Decimal("13.00"), currency="USD", idempotency_key=once, description="x")

    found = provider.lookup(idempotency_key=once)
    assert (found.kind, found.succeeded, found.reference, found.amount) == (
        "charge",
        True,
        first,
        Decimal("12.00"),
    )
    assert provider.lookup(idempotency_key=key()) is None

    refused = key()
    with pytest.raises(PaymentDeclined):
        provider.refund(charge_reference=first, amount=Decimal("99"), currency="USD", idempotency_key=refused)
    assert provider.lookup(idempotency_key=refused).succeeded is False


def test_the_fake_providers_records_outlive_our_transactions():
    """What the provider did stays done when our transaction rolls back, as with a real one."""
    provider = FakePaymentGateway()
    once = key()
    with pytest.raises(RuntimeError), transaction.atomic():
        provider.charge(amount=Decimal("5.00"), currency="USD", idempotency_key=once, description="x")
        raise RuntimeError("our side failed")
    assert provider.lookup(idempotency_key=once).succeeded


def test_a_refund_never_exceeds_what_its_charge_captured_minus_what_was_refunded(
    make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(price="10.00"): 1})
    order_ship(order=order)
    order_refund(order=order, amount=Decimal("8.00"), reason="Scratched")

    with pytest.raises(Exception, match=r"9.00 is more than can be refunded on .*: 2.80 is left"):
        order_refund(order=order, amount=Decimal("9.00"), reason="Again")
    charge = Payment.objects.get(kind="charge")
    assert sum(p.amount for p in charge.refunds.filter(status="succeeded")) <= charge.amount


def test_reconcile_payments_exits_non_zero_on_a_mismatch_and_names_it(make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(price="10.00"): 1})
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "Every order agrees with its payments." in out.getvalue()

    # Someone marks the order paid in the database by hand, without money: caught.
    unpaid = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
    Order.objects.filter(pk=unpaid.pk).update(status=OrderStatus.PAID)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 payment mismatch"):
        call_command("reconcile_payments", stdout=out)
    assert f"{unpaid.number} (paid)" in out.getvalue() and "the balance should be 0" in out.getvalue()
    assert order.number not in out.getvalue()
