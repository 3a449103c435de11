"""Refunds, returns and cancellations: the amount, the charges it goes back to, the goods per line,
a reason."""

from decimal import Decimal

import pytest

from inventory.models import StockMovement
from inventory.selectors import ledger_balance
from orders.models import Operation, Order, OrderReturn, OrderStatus, Payment
from orders.services import (
    OrderError,
    order_bulk_transition,
    order_cancel,
    order_complete,
    order_lines_set,
    order_place,
    order_refund,
    order_refund_preview,
    order_ship,
)
from orders.signals import order_cancelled, order_refunded
from tests.orders.helpers import money_of, reconciles, stock_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(make_product, make_customer, gateway):
    """A shipped order: 2 mugs at 10.00 and 1 lamp at 30.00 (54.00 with tax), paid."""
    mug = make_product(price="10.00", stock=10, name="Blue mug", sku="MUG-1")
    lamp = make_product(price="30.00", stock=5, name="Desk lamp", sku="LAMP-1")
    order = order_place(customer=make_customer(), lines={mug: 2, lamp: 1})
    order_ship(order=order)
    lines = {line.product_id: line for line in order.items.all()}
    return order, mug, lamp, lines[mug.pk], lines[lamp.pk]


def test_a_partial_refund_leaves_the_order_partially_refunded_and_owing_less(shipped, gateway):
    order, *_ = shipped
    order = order_refund(order=order, amount=Decimal("4.00"), reason="Delivered late")

    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert (order.total, order.credited) == (Decimal("50.00"), Decimal("4.00"))
    assert gateway.refunds == [Decimal("4.00")]
    refund = Payment.objects.get(kind="refund")
    assert refund.reason == "Delivered late" and refund.charge.kind == "charge"
    assert reconciles()


def test_refunding_everything_left_makes_the_order_refunded(shipped, gateway):
    order, *_ = shipped
    order_refund(order=order, amount=Decimal("4.00"), reason="Late")
    order = order_refund(order=order, amount=Decimal("50.00"), reason="Lost in the post")
    assert order.status == OrderStatus.REFUNDED and order.total == 0
    with pytest.raises(OrderError, match="refunded: only paid orders are refunded"):
        order_refund(order=order, amount=Decimal("1.00"), reason="More")
    assert reconciles()


def test_a_return_puts_units_back_or_writes_them_off_in_the_ledger(shipped, gateway):
    order, mug, lamp, mug_line, lamp_line = shipped
    order = order_refund(
        order=order,
        amount=Decimal("54.00"),
        reason="Parcel crushed",
        returns={mug_line.pk: (2, "restock"), lamp_line.pk: (1, "write_off")},
    )

    assert order.status == OrderStatus.REFUNDED
    assert stock_of(mug) == 10  # back on the shelf
    assert stock_of(lamp) == 4  # came back, and was written off
    lamp_moves = list(
        StockMovement.objects.filter(product=lamp)
        .order_by("created_at", "id")
        .values_list("kind", "quantity")
    )
    assert lamp_moves[-2:] == [("return", 1), ("write_off", -1)]
    assert ledger_balance(lamp) == 4 and ledger_balance(mug) == 10
    order_return = OrderReturn.objects.get()
    assert order_return.status == Operation.DONE and order_return.reason == "Parcel crushed"
    assert sorted(order_return.lines.values_list("quantity", "disposition")) == [
        (1, "write_off"),
        (2, "restock"),
    ]
    assert Payment.objects.get(kind="refund").order_return == order_return
    assert reconciles()


def test_a_return_without_a_refund_is_recorded_and_restocks(shipped, gateway):
    order, mug, _, mug_line, _ = shipped
    order = order_refund(
        order=order, reason="Exchange: sent a new one", returns={mug_line.pk: (1, "restock")}
    )
    assert order.status == OrderStatus.SHIPPED and gateway.refunds == []
    assert OrderReturn.objects.get().status == Operation.DONE and stock_of(mug) == 9
    with pytest.raises(OrderError, match=r"2 x Blue mug can't come back: 1 of 2 are still out"):
        order_refund(order=order, reason="Again", returns={mug_line.pk: (2, "restock")})


def test_nothing_comes_back_before_an_order_ships_and_a_reason_is_required(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    line = order.items.get()
    with pytest.raises(OrderError, match="hasn't shipped, so nothing can come back"):
        order_refund(order=order, amount=Decimal("1"), reason="x", returns={line.pk: (1, "restock")})
    with pytest.raises(OrderError, match="a reason is required"):
        order_refund(order=order, amount=Decimal("1"), reason="")
    with pytest.raises(OrderError, match="Nothing to do"):
        order_refund(order=order, reason="Nothing")
    order = order_refund(order=order, amount=Decimal("10.80"), reason="One mug chipped, customer keeps it")
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and stock_of(mug) == 8


def test_the_preview_says_which_charges_get_what_before_anything_happens(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 1})
    order_lines_set(order=order, quantities={mug: 3})
    order = order_ship(order=order)
    charges = list(Payment.objects.filter(kind="charge").order_by("created_at"))

    plan = order_refund_preview(order=order, amount=Decimal("25.00"), reason="Late")

    assert [(charge.pk, part) for charge, part in plan.charges] == [
        (charges[1].pk, Decimal("21.60")),  # the newest charge first
        (charges[0].pk, Decimal("3.40")),
    ]
    assert plan.status_after == "Partially refunded" and plan.total_after == Decimal("7.40")
    assert not Payment.objects.filter(kind="refund").exists()


def test_a_partially_refunded_order_can_still_be_shipped_or_cancelled_before_it_has_left(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    order_refund(order=order, amount=Decimal("5.00"), reason="Goodwill")
    order = order_cancel(order=order, reason="Customer cancelled after all")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and stock_of(mug) == 10
    assert sum(Payment.objects.filter(kind="refund").values_list("amount", flat=True)) == Decimal("21.60")

    other = order_place(customer=make_customer(), lines={mug: 2})
    order_ship(order=other)
    order_refund(order=other, amount=Decimal("5.00"), reason="Late")
    with pytest.raises(OrderError, match="can become: completed"):
        order_cancel(order=other, reason="Too late")
    order_complete(order=other)
    assert reconciles()


def test_refunds_and_cancellations_announce_the_money_given_back(
    shipped, gateway, make_product, make_customer, django_capture_on_commit_callbacks
):
    heard = []
    order_refunded.connect(
        lambda sender, order, amount, **kw: heard.append(("refunded", amount)),
        weak=False,
        dispatch_uid="test",
    )
    order_cancelled.connect(
        lambda sender, order, amount, **kw: heard.append(("cancelled", amount)),
        weak=False,
        dispatch_uid="test",
    )
    try:
        order, *_ = shipped
        with django_capture_on_commit_callbacks(execute=True):
            order_refund(order=order, amount=Decimal("4.00"), reason="Late")
            unpaid = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
            order_cancel(order=unpaid, reason="Never mind")
    finally:
        order_refunded.disconnect(dispatch_uid="test")
        order_cancelled.disconnect(dispatch_uid="test")
    assert heard == [("refunded", Decimal("4.00")), ("cancelled", Decimal("0.00"))]


def test_refunds_run_beside_other_refunds_but_not_beside_a_cancellation(make_product, make_customer, gateway):
    from core.exceptions import DomainError
    from orders.services import PaymentPending

    order = order_place(customer=make_customer(), lines={make_product(price="10.00", stock=5): 2})  # 21.60
    gateway.fail("refund", "timeout")
    with pytest.raises(PaymentPending):
        order_refund(order=order, amount=Decimal("5.00"), reason="Late")
    # Another refund meanwhile: fine, the pending 5.00 counts against what is left.
    order_refund(order=order, amount=Decimal("10.00"), reason="Broken")
    with pytest.raises(OrderError, match=r"7.00 is more than can be refunded on .*: 6.60 is left"):
        order_refund(order=order, amount=Decimal("7.00"), reason="Again")

    gateway.fail("refund", "timeout")
    other = order_place(customer=make_customer(), lines={make_product(price="10.00", stock=5): 1})
    with pytest.raises(PaymentPending):
        order_cancel(order=other, reason="Changed their mind")
    with pytest.raises(DomainError, match="has a payment under way"):
        order_refund(order=other, amount=Decimal("1.00"), reason="Goodwill")


def test_cancelling_refunds_what_was_paid_to_its_charge_and_returns_stock(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 4})

    order = order_cancel(order=order, reason="Customer changed their mind")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert stock_of(mug) == 10
    assert gateway.refunds == [Decimal("43.20")]
    refund = Payment.objects.get(kind="refund")
    assert (
        refund.charge == Payment.objects.get(kind="charge") and refund.reason == "Customer changed their mind"
    )
    assert (order.total, order.credited) == (Decimal("0.00"), Decimal("43.20"))
    assert money_of(order)["balance"] == 0
    movement = StockMovement.objects.filter(product=mug).first()
    assert (movement.kind, movement.quantity) == (StockMovement.Kind.CANCELLATION, 4)
    assert movement.reason == f"Restocked by cancellation of {order.number}"
    assert ledger_balance(mug) == 10
    assert reconciles()


def test_cancelling_needs_a_reason(make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    with pytest.raises(OrderError, match="a reason is required"):
        order_cancel(order=order, reason="  ")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_a_cancellation_after_an_edit_refunds_each_charge_no_more_than_it_captured(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 1})
    order_lines_set(order=order, quantities={mug: 3})  # a second charge of 21.60

    order_cancel(order=order, reason="Out of time")

    refunds = {
        p.charge.amount: p.amount for p in Payment.objects.filter(kind="refund").select_related("charge")
    }
    assert refunds == {Decimal("10.80"): Decimal("10.80"), Decimal("21.60"): Decimal("21.60")}
    assert reconciles()


def test_bulk_cancel_refunds_and_restocks_each_order_in_one_change_set(make_product, make_customer, gateway):
    mug = make_product(price="10.00", stock=10)
    orders = [order_place(customer=make_customer(), lines={mug: 2}) for _ in range(3)]

    change_set = order_bulk_transition(orders=orders, to=OrderStatus.CANCELLED, reason="Fraud ring")

    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.CANCELLED}
    assert gateway.refunds == [Decimal("21.60")] * 3 and stock_of(mug) == 10
    assert change_set.row_count >= 3
    assert reconciles()
