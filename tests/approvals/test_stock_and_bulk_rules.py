"""Stock adjustments above a number of units or a value, and bulk actions above a number of rows, wait
for a second person; below the rule they apply at once."""

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest
from approvals.services import ChangeConflict, change_request_approve, change_request_reject
from audit.models import ChangeSet
from inventory.models import Product, StockMovement
from inventory.services import product_set_flag, stock_adjust, stock_adjust_many
from orders.services import order_place
from tests.admin_helpers import action, has_message, shows_confirmation

pytestmark = pytest.mark.django_db
PRODUCTS = reverse("admin:inventory_product_changelist")


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


# --- units ---------------------------------------------------------------------------------------------
def test_an_adjustment_of_no_more_units_than_the_rule_applies_at_once(rule, make_product, ops_user):
    rule("stock_units", 50)
    lamp = make_product(stock=100)

    movement = stock_adjust(product=lamp, quantity=-50, reason="Broken", user=ops_user)

    assert isinstance(movement, StockMovement) and stock_of(lamp) == 50


def test_an_adjustment_of_more_units_waits_then_applies_through_the_ledger_with_both_names(
    rule, make_product, ops_user, approver
):
    rule("stock_units", 50)
    lamp = make_product(name="Lamp", sku="LAMP-1", stock=100)

    held = stock_adjust(product=lamp, quantity=-60, reason="Flood in the warehouse", user=ops_user)

    assert isinstance(held, ChangeRequest) and stock_of(lamp) == 100
    assert held.changes == [{"record": "Lamp (LAMP-1)", "field": "stock", "old": "100", "new": "40"}]
    assert held.reason == "Flood in the warehouse" and "60 units" in held.rules[0]["text"]
    change_request_approve(change_request=held, user=approver)
    assert stock_of(lamp) == 40
    movement = StockMovement.objects.filter(product=lamp).order_by("-id").first()
    assert movement.quantity == -60 and movement.user == ops_user
    assert movement.reason == f"Flood in the warehouse; asked by olivia, approved by bob (request {held.pk})"


def test_a_stock_adjustment_is_stale_once_the_stock_moved(
    rule, make_product, make_customer, ops_user, approver
):
    rule("stock_units", 50)
    lamp = make_product(stock=100)
    held = stock_adjust(product=lamp, quantity=-60, reason="Recount", user=ops_user)
    order_place(customer=make_customer(), lines={lamp: 2})  # a sale meanwhile

    with pytest.raises(ChangeConflict, match=r"stock is now 98 \(it was 100 when asked\)"):
        change_request_approve(change_request=held, user=approver)

    assert stock_of(lamp) == 98
    assert ChangeRequest.objects.get(pk=held.pk).status == ChangeRequest.Status.OUTDATED


# --- value ---------------------------------------------------------------------------------------------
def test_an_adjustment_worth_more_than_the_rule_waits_and_one_worth_less_applies(
    rule, make_product, ops_user, approver
):
    rule("stock_value", 500)
    cheap = make_product(price="2.00", stock=100)
    dear = make_product(price="90.00", stock=100)

    stock_adjust(product=cheap, quantity=-100, reason="Write-off", user=ops_user)  # worth 200.00
    held = stock_adjust(product=dear, quantity=-6, reason="Write-off", user=ops_user)  # worth 540.00

    assert stock_of(cheap) == 0 and stock_of(dear) == 100
    assert "worth 540.00 USD" in held.rules[0]["text"]
    change_request_reject(change_request=held, user=approver, note="Count them again")
    assert (
        stock_of(dear) == 100 and not StockMovement.objects.filter(product=dear, kind="adjustment").exists()
    )


# --- bulk ----------------------------------------------------------------------------------------------
def test_a_bulk_stock_adjustment_is_held_by_rows_units_or_value_and_applied_as_one_change_set(
    rule, make_product, ops_user, approver
):
    rule("bulk_rows", 2)
    products = [make_product(stock=10) for _ in range(3)]

    small = stock_adjust_many(products=products[:2], quantity=5, reason="Delivery", user=ops_user)
    held = stock_adjust_many(products=products, quantity=5, reason="Delivery", user=ops_user)

    assert isinstance(small, ChangeSet) and [stock_of(p) for p in products] == [15, 15, 10]
    assert isinstance(held, ChangeRequest) and held.row_count == 3
    done = change_request_approve(change_request=held, user=approver)
    assert [stock_of(p) for p in products] == [20, 20, 15]
    assert done.change_set.kind == ChangeSet.Kind.BULK_ACTION and done.change_set.row_count == 3
    assert done.change_set.title.endswith(f"approved by bob (request {held.pk})")


def test_a_bulk_publish_of_more_rows_than_the_rule_asks_why_on_its_confirmation_and_waits(
    rule, make_product, client_for, ops_user, approver
):
    rule("bulk_rows", 2)
    drafts = [make_product(published=False) for _ in range(3)]
    client = client_for(ops_user)

    page = action(client, PRODUCTS, "publish", drafts, confirm=False)
    assert shows_confirmation(page) and 'id="action-why"' in page.content.decode()
    assert "a bulk change of 3 row(s); the shop's rule: bulk actions that change more than 2 rows" in (
        html.unescape(page.content.decode())
    )
    response = action(client, PRODUCTS, "publish", drafts, why="Spring collection")

    assert has_message(response, "Waiting for approval: Bulk publish of 3 product(s)")
    assert not Product.objects.filter(is_published=True).exists()
    held = ChangeRequest.objects.get()
    assert held.reason == "Spring collection" and held.row_count == 3
    done = change_request_approve(change_request=held, user=approver)
    assert Product.objects.filter(is_published=True).count() == 3
    assert done.change_set.kind == ChangeSet.Kind.BULK_ACTION


def test_a_bulk_publish_within_the_rule_applies_at_once(rule, make_product, client_for, ops_user):
    rule("bulk_rows", 2)
    drafts = [make_product(published=False) for _ in range(2)]

    response = action(client_for(ops_user), PRODUCTS, "publish", drafts)

    assert has_message(response, "2 products published.")
    assert not ChangeRequest.objects.exists()


def test_a_bulk_publish_is_stale_when_one_of_its_rows_was_published_meanwhile(
    rule, make_product, ops_user, approver
):
    rule("bulk_rows", 2)
    drafts = [make_product(published=False, name=f"Draft {i}") for i in range(3)]
    held = product_set_flag(products=drafts, flag="publish", user=ops_user, why="Spring")
    product_set_flag(products=drafts[:1], flag="publish", user=approver)

    with pytest.raises(ChangeConflict, match=r"Draft 0 .*published is now yes \(it was no when asked\)"):
        change_request_approve(change_request=held, user=approver)

    assert Product.objects.filter(is_published=True).count() == 1


def test_a_rule_at_zero_rows_holds_every_bulk_change_and_its_price_is_not_counted(
    rule, make_product, ops_user
):
    rule("bulk_rows", 0)
    draft = make_product(published=False)

    held = product_set_flag(products=[draft], flag="publish", user=ops_user, why="One")

    assert isinstance(held, ChangeRequest) and not Product.objects.get(pk=draft.pk).is_published
    assert Decimal(held.rules[0]["measure"]) == 1
