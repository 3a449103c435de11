"""The payment provider fails or doesn't answer at every step, and our process dies between steps:
never money without an order, never a paid order without money, never stock lost. What is left
pending is settled by the periodic task through the provider's look-up by idempotency key."""

import contextlib
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from inventory.models import Product
from inventory.selectors import ledger_balance
from orders import billing
from orders.billing import PaymentPending
from orders.models import Operation, Order, OrderEdit, OrderReturn, OrderStatus, Payment
from orders.payments import PaymentDeclined
from orders.services import order_cancel, order_lines_set, order_pay, order_place, order_refund, order_ship
from orders.tasks import resolve_pending_payments

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """The process dies here (a BaseException, as a worker killed mid-request: nothing catches it)."""


def provider_total(kind: str) -> Decimal:
    """What the provider actually did, for the payments we asked of it."""
    keys = list(Payment.objects.values_list("idempotency_key", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(amount), 0) FROM fake_gateway_operation "
            "WHERE idempotency_key = ANY(%s) AND kind = %s AND status = 'succeeded'",
            [keys, kind],
        )
        return cursor.fetchone()[0]


def assert_money_and_stock_hold(products, initial: dict):
    """Our ledger records exactly what the provider did; every order agrees with its payments; every
    unit is on the shelf or in a placed order."""
    ours = Payment.objects.filter(status="succeeded")
    for kind in ("charge", "refund"):
        recorded = ours.filter(kind=kind).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        assert provider_total(kind) == recorded, f"{kind}: the provider and the ledger disagree"
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "Every order agrees with its payments." in out.getvalue(), out.getvalue()
    for product in products:
        product = Product.objects.get(pk=product.pk)
        assert product.stock == ledger_balance(product)
        held = (
            product.order_items.exclude(order__status__in=["draft", "cancelled"]).aggregate(
                u=Sum("quantity")
            )["u"]
            or 0
        )
        assert product.stock + held == initial[product.pk], product


def resolve():
    """The periodic task, as beat runs it (every shop), with payments pending for any time counting."""
    return resolve_pending_payments()


@pytest.fixture
def no_wait(settings):
    settings.PAYMENT_PENDING_SECONDS = 0


@pytest.fixture
def shop(make_product, make_customer):
    mug = make_product(price="10.00", stock=10)
    return {"mug": mug, "customer": make_customer(), "initial": {mug.pk: 10}}


# --- placing an order -------------------------------------------------------------------------------
def test_a_failure_while_reserving_writes_nothing_and_calls_no_provider(shop, gateway, monkeypatch):
    monkeypatch.setattr(
        billing, "payment_open", lambda **kwargs: (_ for _ in ()).throw(RuntimeError("disk full"))
    )
    with pytest.raises(RuntimeError):
        order_place(customer=shop["customer"], lines={shop["mug"]: 2})
    assert not Order.objects.exists() and gateway.charges == []
    assert Product.objects.get(pk=shop["mug"].pk).stock == 10


@pytest.mark.parametrize(
    ("failure", "provider_did_it", "settles_as"),
    [
        (("charge", "decline"), False, OrderStatus.DRAFT),
        (("charge", "timeout_after"), True, OrderStatus.PAID),  # the look-up right after finds it
    ],
)
def test_placing_when_the_provider_refuses_or_answers_late(
    shop, gateway, failure, provider_did_it, settles_as
):
    gateway.fail(*failure)
    try:
        order_place(customer=shop["customer"], lines={shop["mug"]: 3})
    except PaymentDeclined:
        assert not provider_did_it
    order = Order.objects.get()
    assert order.status == settles_as
    assert (gateway.charges == [Decimal("32.40")]) == provider_did_it
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


@pytest.mark.parametrize(
    ("failures", "provider_did_it"),
    [
        ([("charge", "timeout")], False),  # the request never reached the provider
        ([("charge", "timeout_after"), ("lookup", "timeout")], True),  # it did, and nobody heard
    ],
)
def test_placing_when_nobody_knows_what_the_provider_did(shop, gateway, no_wait, failures, provider_did_it):
    for failure in failures:
        gateway.fail(*failure)
    with pytest.raises(PaymentPending, match="awaiting payment with its stock held"):
        order_place(customer=shop["customer"], lines={shop["mug"]: 3})
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING and Payment.objects.get().status == "pending"
    assert Product.objects.get(pk=shop["mug"].pk).stock == 7  # held, not lost

    counts = resolve()

    order.refresh_from_db()
    assert order.status == (OrderStatus.PAID if provider_did_it else OrderStatus.DRAFT)
    assert counts["succeeded" if provider_did_it else "failed"] == 1
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


def test_a_crash_before_the_provider_is_called_is_resolved_as_no_payment(shop, gateway, no_wait, monkeypatch):
    monkeypatch.setattr(billing, "payments_carry_out", lambda batch, **kw: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        order_place(customer=shop["customer"], lines={shop["mug"]: 2})
    monkeypatch.undo()
    assert Order.objects.get().status == OrderStatus.PENDING

    resolve()

    order = Order.objects.get()
    assert order.status == OrderStatus.DRAFT and gateway.charges == []
    assert "never received" in Payment.objects.get().failure
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


def test_a_crash_after_the_charge_is_resolved_as_paid(shop, gateway, no_wait, monkeypatch):
    real_settle = billing.payments_settle

    def crash_once(**kwargs):
        monkeypatch.setattr(billing, "payments_settle", real_settle)
        raise Crash

    monkeypatch.setattr(billing, "payments_settle", crash_once)
    with pytest.raises(Crash):
        order_place(customer=shop["customer"], lines={shop["mug"]: 2})
    assert gateway.charges == [Decimal("21.60")] and Order.objects.get().status == OrderStatus.PENDING

    resolve()
    resolve()  # a second run (or the request settling late) changes nothing more

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert order.history.filter(history_change_reason=f"Order {order.number} paid").count() == 1
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


def test_fresh_pending_payments_are_left_to_finish_and_an_unreachable_provider_is_asked_again(
    shop, gateway, settings
):
    gateway.fail("charge", "timeout_after")
    gateway.fail("lookup", "timeout")
    with pytest.raises(PaymentPending):
        order_place(customer=shop["customer"], lines={shop["mug"]: 1})
    assert resolve() == {"succeeded": 0, "failed": 0, "unknown": 0}  # not older than 120 s yet

    settings.PAYMENT_PENDING_SECONDS = 0
    gateway.fail("lookup", "timeout")
    assert resolve()["unknown"] == 1
    assert Order.objects.get().status == OrderStatus.PENDING
    assert resolve()["succeeded"] == 1
    assert Order.objects.get().status == OrderStatus.PAID
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


# --- taking payment, edits, cancellations, refunds ------------------------------------------------
def test_taking_payment_refused_leaves_the_order_awaiting_payment(shop, gateway):
    order = order_place(customer=shop["customer"], lines={shop["mug"]: 1}, charge=False)
    gateway.fail("charge", "decline")
    with pytest.raises(PaymentDeclined, match="still awaiting payment"):
        order_pay(order=order)
    assert Order.objects.get().status == OrderStatus.PENDING
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


@pytest.mark.parametrize("how", ["decline", "timeout", "timeout_after", "crash_after_charge"])
def test_an_edit_whose_extra_charge_fails_or_hangs(shop, gateway, no_wait, monkeypatch, how):
    order = order_place(customer=shop["customer"], lines={shop["mug"]: 2})
    if how == "crash_after_charge":
        real_settle = billing.payments_settle

        def crash_once(**kwargs):
            monkeypatch.setattr(billing, "payments_settle", real_settle)
            raise Crash

        monkeypatch.setattr(billing, "payments_settle", crash_once)
    else:
        gateway.fail("charge", how)
        if how == "timeout_after":
            gateway.fail("lookup", "timeout")
    with contextlib.suppress(PaymentDeclined, PaymentPending, Crash):
        order_lines_set(order=order, quantities={shop["mug"]: 5})
    if how != "decline":
        assert Product.objects.get(pk=shop["mug"].pk).stock == 5  # the extra units are held meanwhile
        resolve()

    order.refresh_from_db()
    applied = how in ("timeout_after", "crash_after_charge")
    assert order.items.get().quantity == (5 if applied else 2)
    assert order.total == (Decimal("54.00") if applied else Decimal("21.60"))
    assert OrderEdit.objects.get().status == (Operation.DONE if applied else Operation.FAILED)
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


@pytest.mark.parametrize("how", ["decline", "timeout_after"])
def test_an_edit_whose_refund_fails_or_hangs(shop, gateway, no_wait, how):
    order = order_place(customer=shop["customer"], lines={shop["mug"]: 4})
    gateway.fail("refund", how)
    gateway.fail("lookup", "timeout")
    with contextlib.suppress(PaymentDeclined, PaymentPending):
        order_lines_set(order=order, quantities={shop["mug"]: 1})
    assert Product.objects.get(pk=shop["mug"].pk).stock == 6  # units come back only once refunded
    resolve()

    order.refresh_from_db()
    assert order.items.get().quantity == (1 if how == "timeout_after" else 4)
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


@pytest.mark.parametrize("how", ["decline", "timeout", "timeout_after"])
def test_a_cancellation_whose_refund_fails_or_hangs(shop, gateway, no_wait, how):
    order = order_place(customer=shop["customer"], lines={shop["mug"]: 3})
    gateway.fail("refund", how)
    gateway.fail("lookup", "timeout")
    with pytest.raises((PaymentDeclined, PaymentPending)):
        order_cancel(order=order, reason="Customer asked")
    assert Product.objects.get(pk=shop["mug"].pk).stock == 7  # nothing back before the money is
    resolve()

    order.refresh_from_db()
    cancelled = how == "timeout_after"
    assert order.status == (OrderStatus.CANCELLED if cancelled else OrderStatus.PAID)
    assert Product.objects.get(pk=shop["mug"].pk).stock == (10 if cancelled else 7)
    assert_money_and_stock_hold([shop["mug"]], shop["initial"])


@pytest.mark.parametrize("how", ["decline", "timeout", "timeout_after"])
def test_a_return_whose_refund_fails_or_hangs(shop, gateway, no_wait, how):
    order = order_place(customer=shop["customer"], lines={shop["mug"]: 3})
    order_ship(order=order)
    line = order.items.get()
    gateway.fail("refund", how)
    gateway.fail("lookup", "timeout")
    with pytest.raises((PaymentDeclined, PaymentPending)):
        order_refund(order=order, amount=Decimal("10.80"), reason="Broken", returns={line.pk: (1, "restock")})
    resolve()

    order.refresh_from_db()
    refunded = how == "timeout_after"
    assert order.status == (OrderStatus.PARTIALLY_REFUNDED if refunded else OrderStatus.SHIPPED)
    assert OrderReturn.objects.get().status == (Operation.DONE if refunded else Operation.FAILED)
    assert Product.objects.get(pk=shop["mug"].pk).stock == (8 if refunded else 7)
    # A return taken in has left the customer's hands: the shelf and the order lines count it.
    returned = 1 if refunded else 0
    held = order.items.aggregate(u=Sum("quantity"))["u"] - returned
    assert Product.objects.get(pk=shop["mug"].pk).stock + held == 10
    assert Payment.objects.filter(kind="refund", status="succeeded").exists() == refunded
    assert provider_total("refund") == (Decimal("10.80") if refunded else 0)
