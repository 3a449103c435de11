"""Refunds above the shop's amount, and status changes of more orders than its bulk rule, wait for a
second person; the money moves only once someone else approves, through the refund service."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from approvals.models import ChangeRequest
from approvals.services import ChangeConflict, DecisionRefused, change_request_approve, change_request_reject
from backoffice.roles import APPROVER, SUPPORT
from orders.models import Order, OrderStatus, Payment
from orders.services import order_bulk_transition, order_cancel, order_place, order_refund
from tests.admin_helpers import action, has_message, page_text
from tests.orders.conftest import FlakyGateway
from tests.orders.helpers import reconciles

pytestmark = pytest.mark.django_db
ORDERS = reverse("admin:orders_order_changelist")


@pytest.fixture
def gateway(monkeypatch):
    flaky = FlakyGateway()
    monkeypatch.setattr("orders.billing.payment_gateway", lambda: flaky)
    return flaky


@pytest.fixture
def paid(make_product, make_customer, gateway):
    """A paid order: 2 mugs at 10.00 and 1 lamp at 30.00 (54.00 with tax)."""
    mug = make_product(price="10.00", stock=10, name="Blue mug", sku="MUG-1")
    lamp = make_product(price="30.00", stock=5, name="Desk lamp", sku="LAMP-1")
    return order_place(customer=make_customer(), lines={mug: 2, lamp: 1})


@pytest.fixture
def support_lead(roles):
    """Sue works in support and approves too: her own refunds still need someone else."""
    user = get_user_model().objects.create_user(username="sue", password="pw-sue", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT), Group.objects.get(name=APPROVER))
    return user


def fresh(order) -> Order:
    return Order.objects.get(pk=order.pk)


def test_a_refund_within_the_rule_is_made_at_once(rule, paid, gateway, support_user):
    rule("refund_amount", 20)

    order = order_refund(order=paid, amount=Decimal("20.00"), reason="Delivered late", user=support_user)

    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.total == Decimal("34.00")
    assert gateway.refunds == [Decimal("20.00")]
    assert not ChangeRequest.objects.exists()


def test_a_bigger_refund_waits_and_moves_no_money_until_someone_else_approves_it(
    rule, paid, gateway, support_lead, approver
):
    rule("refund_amount", 20)

    held = order_refund(order=paid, amount=Decimal("30.00"), reason="Lamp broken", user=support_lead)

    assert isinstance(held, ChangeRequest) and held.status == ChangeRequest.Status.PENDING
    assert held.title == "Refund of 30.00 USD on " + paid.number
    assert held.reason == "Lamp broken" and held.requested_by == support_lead
    assert gateway.refunds == [] and not Payment.objects.filter(kind="refund").exists()
    assert fresh(paid).status == OrderStatus.PAID and fresh(paid).total == Decimal("54.00")
    with pytest.raises(DecisionRefused, match="someone else"):
        change_request_approve(change_request=held, user=support_lead)

    approved = change_request_approve(change_request=held, user=approver)

    assert approved.status == ChangeRequest.Status.APPROVED and approved.outcome.startswith("Applied")
    assert gateway.refunds == [Decimal("30.00")]
    order = fresh(paid)
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.total == Decimal("24.00")
    # The order's history says who asked and who approved.
    reasons = list(order.history.values_list("history_change_reason", flat=True))
    assert any(f"asked by {support_lead.username}, approved by {approver.username}" in r for r in reasons)
    assert reconciles()


def test_a_refund_whose_order_changed_since_it_was_asked_is_not_made(
    rule, paid, gateway, support_user, approver
):
    rule("refund_amount", 20)
    held = order_refund(order=paid, amount=Decimal("30.00"), reason="Lamp broken", user=support_user)
    order_refund(order=paid, amount=Decimal("5.00"), reason="Goodwill", user=support_user)

    with pytest.raises(ChangeConflict, match="changed since"):
        change_request_approve(change_request=held, user=approver)

    held.refresh_from_db()
    assert held.status == ChangeRequest.Status.OUTDATED
    assert gateway.refunds == [Decimal("5.00")]
    assert fresh(paid).total == Decimal("49.00")


def test_a_refund_the_provider_refuses_after_approval_is_closed_as_refused(
    rule, paid, gateway, support_user, approver
):
    rule("refund_amount", 20)
    held = order_refund(order=paid, amount=Decimal("30.00"), reason="Lamp broken", user=support_user)
    gateway.fail("refund", "decline")

    with pytest.raises(ChangeConflict, match="refused"):
        change_request_approve(change_request=held, user=approver)

    held.refresh_from_db()
    assert held.status == ChangeRequest.Status.FAILED and held.decided_by == approver
    assert "refused" in held.outcome
    assert fresh(paid).total == Decimal("54.00") and fresh(paid).status == OrderStatus.PAID
    assert reconciles()


def test_a_rejected_refund_moves_no_money(rule, paid, gateway, support_user, approver):
    rule("refund_amount", 0)
    held = order_refund(order=paid, amount=Decimal("1.00"), reason="Sorry", user=support_user)

    change_request_reject(change_request=held, user=approver, note="Not our fault")

    assert gateway.refunds == [] and fresh(paid).total == Decimal("54.00")


def test_shipping_more_orders_than_the_bulk_rule_waits_then_ships_them_as_one_change_set(
    rule, make_product, make_customer, gateway, support_user, approver
):
    rule("bulk_rows", 1)
    lamp = make_product(price="30.00", stock=5)
    orders = [order_place(customer=make_customer(), lines={lamp: 1}) for _ in range(2)]

    held = order_bulk_transition(orders=orders, to=OrderStatus.SHIPPED, user=support_user, why="Courier came")

    assert isinstance(held, ChangeRequest) and held.row_count == 2
    assert {fresh(o).status for o in orders} == {OrderStatus.PAID}
    approved = change_request_approve(change_request=held, user=approver)
    assert {fresh(o).status for o in orders} == {OrderStatus.SHIPPED}
    assert approved.change_set is not None and approved.change_set.user == support_user


def test_a_bulk_change_within_the_rule_is_made_at_once(rule, make_product, make_customer, gateway):
    rule("bulk_rows", 2)
    lamp = make_product(price="30.00", stock=5)
    orders = [order_place(customer=make_customer(), lines={lamp: 1}) for _ in range(2)]

    order_bulk_transition(orders=orders, to=OrderStatus.SHIPPED)

    assert {fresh(o).status for o in orders} == {OrderStatus.SHIPPED}
    assert not ChangeRequest.objects.exists()


# --- in the admin ------------------------------------------------------------------------------------
def test_the_refund_page_says_a_big_refund_waits_and_its_confirmation_only_asks(
    client_for, rule, paid, gateway, support_user
):
    rule("refund_amount", 20)
    url = reverse("admin:orders_order_refund", args=[paid.pk])
    data = {"reason": "Lamp broken", "full": "", "amount": "30.00"}
    for line in paid.items.all():
        data |= {f"quantity_{line.pk}": "0", f"goods_{line.pk}": "kept"}
    client = client_for(support_user)

    review = client.post(url, data)
    page = unescape(page_text(review))
    assert "This refund waits for another person's approval (a refund of 30.00 USD" in page
    assert "Ask for approval" in page
    confirm = re.search(r'name="confirm" value="([^"]+)"', review.content.decode()).group(1)
    done = client.post(url, {**data, "confirm": confirm}, follow=True)

    assert has_message(done, f"Waiting for approval: Refund of 30.00 USD on {paid.number}")
    assert gateway.refunds == [] and fresh(paid).total == Decimal("54.00")
    # The order's page lists what waits for it.
    assert "Refund of 30.00 USD on" in page_text(done) and ChangeRequest.objects.get().is_pending


def test_bulk_ship_of_more_orders_than_the_rule_asks_why_and_waits(
    client_for, rule, make_product, make_customer, gateway, support_user
):
    rule("bulk_rows", 1)
    lamp = make_product(price="30.00", stock=5)
    orders = [order_place(customer=make_customer(), lines={lamp: 1}) for _ in range(2)]
    client = client_for(support_user)

    page = action(client, ORDERS, "bulk_ship", orders, confirm=False)
    assert "waits for another person's approval (a bulk change of 2 row(s)" in unescape(page_text(page))
    done = action(client, ORDERS, "bulk_ship", orders, why="The courier takes both today")

    assert has_message(done, "Waiting for approval: Bulk ship of 2 order(s)")
    assert {fresh(o).status for o in orders} == {OrderStatus.PAID}
    assert ChangeRequest.objects.get().reason == "The courier takes both today"


# --- cancelling refunds what was paid ------------------------------------------------------------------
def test_cancelling_a_paid_order_whose_refund_is_above_the_rule_waits_then_cancels_once_approved(
    rule, paid, gateway, support_user, approver
):
    rule("refund_amount", 20)

    held = order_cancel(order=paid, reason="Customer changed their mind", user=support_user)

    assert isinstance(held, ChangeRequest) and held.title.startswith(f"Cancellation of {paid.number}")
    assert fresh(paid).status == OrderStatus.PAID and gateway.refunds == []
    change_request_approve(change_request=held, user=approver)
    assert fresh(paid).status == OrderStatus.CANCELLED and gateway.refunds == [Decimal("54.00")]
    assert reconciles()


def test_cancelling_an_unpaid_order_refunds_nothing_and_never_waits(
    rule, make_product, make_customer, gateway, support_user
):
    rule("refund_amount", 0)
    pending = order_place(customer=make_customer(), lines={make_product(stock=3): 1}, charge=False)

    order_cancel(order=pending, reason="Never paid", user=support_user)

    assert fresh(pending).status == OrderStatus.CANCELLED and not ChangeRequest.objects.exists()


def test_a_bulk_cancel_waits_whole_when_one_of_its_refunds_is_above_the_rule(
    rule, paid, make_product, make_customer, gateway, support_user, approver
):
    rule("refund_amount", 40)
    small = order_place(customer=make_customer(), lines={make_product(price="5.00", stock=3): 1})

    held = order_bulk_transition(
        orders=[paid, small], to=OrderStatus.CANCELLED, reason="Fraud", user=support_user
    )

    assert isinstance(held, ChangeRequest) and held.row_count == 2
    assert {fresh(o).status for o in (paid, small)} == {OrderStatus.PAID}
    change_request_approve(change_request=held, user=approver)
    assert {fresh(o).status for o in (paid, small)} == {OrderStatus.CANCELLED}
    assert sorted(gateway.refunds) == [Decimal("5.40"), Decimal("54.00")]
