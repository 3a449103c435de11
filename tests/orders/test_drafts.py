"""Draft orders: taken by support for a customer, edited freely, placed through order_place."""

from decimal import Decimal

import pytest

from inventory.models import StockMovement
from orders.models import OrderStatus, Payment
from orders.services import (
    OrderError,
    PaymentDeclined,
    order_cancel,
    order_draft_create,
    order_lines_set,
    order_place,
    order_update,
)
from tests.orders.helpers import stock_of

pytestmark = pytest.mark.django_db


def test_a_draft_takes_no_stock_and_charges_nothing_until_it_is_placed(
    make_product, make_customer, gateway, support_user
):
    mug = make_product(price="10.00", stock=3)
    customer = make_customer()
    movements = StockMovement.objects.count()

    draft = order_draft_create(customer=customer, lines={mug: 2}, user=support_user)
    order_lines_set(order=draft, quantities={mug: 5})  # more than in stock: a draft doesn't mind

    draft.refresh_from_db()
    assert draft.status == OrderStatus.DRAFT and draft.number == f"ORD-{draft.pk:06d}"
    assert draft.total == Decimal("54.00") and draft.shipping_address == customer.default_shipping_address
    assert stock_of(mug) == 3 and StockMovement.objects.count() == movements
    assert not Payment.objects.exists()
    assert draft.history.order_by("history_id").first().history_user == support_user


def test_placing_a_draft_checks_stock_then_charges_it(make_product, make_customer, gateway):
    mug = make_product(price="10.00", stock=3, name="Blue mug", sku="MUG-1")
    draft = order_draft_create(customer=make_customer(), lines={mug: 5})
    with pytest.raises(Exception, match=r"Not enough stock for Blue mug \(MUG-1\): 3 available, 5 requested"):
        order_place(draft=draft)
    order_lines_set(order=draft, quantities={mug: 2})

    order = order_place(draft=draft)

    assert order.pk == draft.pk and order.status == OrderStatus.PAID
    assert stock_of(mug) == 1 and gateway.charges == [Decimal("21.60")]


def test_a_draft_placed_for_payment_on_delivery_awaits_payment(make_product, make_customer, gateway):
    draft = order_draft_create(customer=make_customer(), lines={make_product(): 1})
    order = order_place(draft=draft, charge=False)
    assert order.status == OrderStatus.PENDING and gateway.charges == []
    with pytest.raises(OrderError, match="is awaiting payment, not a draft"):
        order_place(draft=order)


def test_a_declined_card_leaves_the_draft_a_draft(make_product, make_customer, gateway):
    mug = make_product(stock=4)
    draft = order_draft_create(customer=make_customer(), lines={mug: 2})
    gateway.fail("charge", "decline")
    with pytest.raises(PaymentDeclined, match="is a draft again"):
        order_place(draft=draft)
    draft.refresh_from_db()
    assert draft.status == OrderStatus.DRAFT and stock_of(mug) == 4
    assert order_place(draft=draft).status == OrderStatus.PAID  # tried again with another card


def test_a_drafts_customer_and_address_change_freely_a_placed_orders_customer_does_not(
    make_product, make_customer, gateway
):
    draft = order_draft_create(customer=make_customer(), lines={make_product(): 1})
    other = make_customer()
    order_update(order=draft, data={"customer": other, "shipping_address": "1 New Road\r\nTown"})
    draft.refresh_from_db()
    assert draft.customer == other and draft.shipping_address == "1 New Road\nTown"
    history = draft.history.count()
    order_update(order=draft, data={"shipping_address": "1 New Road\r\nTown"})  # as a browser re-posts it
    assert draft.history.count() == history  # nothing changed, nothing logged

    order = order_place(draft=draft)
    with pytest.raises(OrderError, match="its customer can't change"):
        order_update(order=order, data={"customer": make_customer()})


def test_a_draft_is_discarded_by_cancelling_it(make_product, make_customer, gateway):
    mug = make_product(stock=4)
    draft = order_draft_create(customer=make_customer(), lines={mug: 2})
    order = order_cancel(order=draft, reason="Customer ordered online instead")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.total == 0 and stock_of(mug) == 4


def test_a_drafts_timeline_starts_with_its_creation_not_a_zero_amount(
    make_product, make_customer, support_user
):
    from orders.timeline import order_timeline

    draft = order_draft_create(
        customer=make_customer(), lines={make_product(price="10.00"): 2}, user=support_user
    )

    (created,) = [event for event in order_timeline(draft) if event.title == "Draft created"]
    assert created.who == support_user.get_username() and created.amount_text == ""
