"""What the order service announces to the apps that follow orders (e-mail): once, after the commit,
with the money given back; nothing for a change that was refused or rolled back."""

from decimal import Decimal

import pytest
from django.db import transaction

from orders import signals
from orders.payments import PaymentDeclined
from orders.services import (
    OrderError,
    order_bulk_transition,
    order_draft_create,
    order_pay,
    order_place,
    order_refund,
    order_ship,
)

pytestmark = pytest.mark.django_db

ANNOUNCED = ("order_placed", "order_paid", "order_shipped", "order_refunded", "order_cancelled")


@pytest.fixture
def heard():
    """Every announcement, as (signal name, order number, amount or None)."""
    events = []
    receivers = []
    for name in ANNOUNCED:

        def hear(sender, order, name=name, **kwargs):
            events.append((name, order.number, kwargs.get("amount")))

        getattr(signals, name).connect(hear, weak=False)
        receivers.append((name, hear))
    yield events
    for name, hear in receivers:
        getattr(signals, name).disconnect(hear)


def test_each_status_change_is_announced_once_after_the_commit(
    heard, make_product, make_customer, gateway, django_capture_on_commit_callbacks
):
    mug = make_product(price="10.00", stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        later = order_place(customer=make_customer(), lines={mug: 1}, charge=False)
    assert heard == [("order_placed", later.number, None)]

    with django_capture_on_commit_callbacks(execute=False) as pending:
        order_pay(order=later)
    assert heard == [("order_placed", later.number, None)]  # not before the commit
    for callback in pending:
        callback()
    with django_capture_on_commit_callbacks(execute=True):
        order_ship(order=later)
        order_refund(order=later, amount=Decimal("4.00"), reason="Late")
        order_refund(order=later, amount=Decimal("6.80"), reason="Broken")
    assert heard[1:] == [
        ("order_paid", later.number, None),
        ("order_shipped", later.number, None),
        ("order_refunded", later.number, Decimal("4.00")),
        ("order_refunded", later.number, Decimal("6.80")),
    ]


def test_a_cancellation_says_how_much_was_given_back(
    heard, make_product, make_customer, gateway, django_capture_on_commit_callbacks
):
    mug = make_product(price="10.00", stock=10)
    paid = order_place(customer=make_customer(), lines={mug: 2})
    unpaid = order_place(customer=make_customer(), lines={mug: 1}, charge=False)

    with django_capture_on_commit_callbacks(execute=True):
        order_bulk_transition(orders=[paid, unpaid], to="cancelled", reason="Out of stock")

    assert sorted(heard) == sorted(
        [
            ("order_cancelled", paid.number, Decimal("21.60")),
            ("order_cancelled", unpaid.number, Decimal("0.00")),
        ]
    )


def test_refused_or_rolled_back_changes_announce_nothing(
    heard, make_product, make_customer, gateway, django_capture_on_commit_callbacks
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 1})

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(OrderError):
            order_pay(order=order)  # already paid
        with pytest.raises(RuntimeError), transaction.atomic():
            order_ship(order=order)
            order_place(customer=make_customer(), lines={mug: 1}, charge=False)
            raise RuntimeError("the request failed after the order service's work")

    assert heard == []


def test_a_placed_draft_is_announced_once_it_is_paid_and_a_refused_charge_announces_nothing(
    heard, make_product, make_customer, gateway, django_capture_on_commit_callbacks
):
    mug = make_product(price="10.00", stock=10)
    draft = order_draft_create(customer=make_customer(), lines={mug: 1})
    gateway.fail("charge", "decline")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(PaymentDeclined):
            order_place(draft=draft)
        assert heard == []
        order_place(draft=draft)
    assert heard == [("order_placed", draft.number, None)]
