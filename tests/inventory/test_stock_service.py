import pytest

from inventory.models import Product, StockMovement
from inventory.selectors import ledger_balance
from inventory.services import (
    CatalogueError,
    InsufficientStock,
    category_delete,
    stock_adjust,
    stock_apply,
)

pytestmark = pytest.mark.django_db


def test_adjusting_stock_changes_it_and_writes_one_ledger_movement(make_product, ops_user):
    product = make_product(stock=5)

    movement = stock_adjust(product=product, quantity=7, reason="Found in back room", user=ops_user)

    product.refresh_from_db()
    assert product.stock == 12
    assert movement.quantity == 7 and movement.stock_after == 12 and movement.user == ops_user
    assert movement.kind == StockMovement.Kind.ADJUSTMENT
    assert ledger_balance(product) == 12


def test_stock_never_goes_below_zero_and_the_refusal_changes_nothing(make_product):
    product = make_product(stock=3, name="Tent", sku="TENT-1")
    movements_before = StockMovement.objects.count()

    with pytest.raises(InsufficientStock) as refused:
        stock_adjust(product=product, quantity=-5, reason="Damaged")

    assert str(refused.value) == "Not enough stock for Tent (TENT-1): 3 available, 5 requested."
    product.refresh_from_db()
    assert product.stock == 3
    assert StockMovement.objects.count() == movements_before


def test_several_products_change_all_or_nothing(make_product):
    plenty = make_product(stock=50)
    scarce = make_product(stock=1)

    with pytest.raises(InsufficientStock):
        stock_apply(changes={plenty.pk: -10, scarce.pk: -2}, kind="adjustment", reason="Stock count")

    assert Product.objects.get(pk=plenty.pk).stock == 50
    assert Product.objects.get(pk=scarce.pk).stock == 1


def test_an_adjustment_needs_a_reason_and_a_non_zero_change(make_product):
    product = make_product(stock=5)
    with pytest.raises(CatalogueError, match="reason"):
        stock_adjust(product=product, quantity=2, reason="  ")
    with pytest.raises(CatalogueError, match="other than zero"):
        stock_adjust(product=product, quantity=0, reason="Nothing")


def test_stock_change_writes_a_history_row_with_the_reason(make_product, ops_user):
    product = make_product(stock=5)
    stock_adjust(product=product, quantity=-2, reason="Broken in transit", user=ops_user)

    latest = product.history.first()
    assert latest.stock == 3
    assert latest.history_change_reason == "Broken in transit"
    assert latest.history_user == ops_user


def test_movements_are_append_only(make_product):
    product = make_product(stock=5)
    movement = product.movements.first()
    movement.quantity = 500
    with pytest.raises(Exception, match="append-only"):
        movement.save()
    with pytest.raises(Exception, match="append-only"):
        movement.delete()
    assert ledger_balance(product) == 5


def test_deleting_a_category_with_products_is_refused_with_a_clear_message(make_category, make_product):
    category = make_category("Audio")
    make_product(category=category)
    make_product(category=category)

    with pytest.raises(CatalogueError) as refused:
        category_delete(category=category)

    assert "still has 2 product(s)" in str(refused.value)
    assert category.__class__.objects.filter(pk=category.pk).exists()


def test_deleting_an_empty_category_works(make_category):
    parent = make_category("Parent")
    child = make_category("Child", parent=parent)
    with pytest.raises(CatalogueError, match="sub-categor"):
        category_delete(category=parent)
    category_delete(category=child)
    category_delete(category=parent)
    assert not parent.__class__.objects.exists()


def test_many_different_changes_in_one_call_land_on_the_right_products(make_product):
    products = [make_product(stock=100) for _ in range(15)]
    stock_apply(changes={p.pk: i - 7 for i, p in enumerate(products)}, kind="import", reason="Supplier file")
    assert [Product.objects.get(pk=p.pk).stock for p in products] == [100 + i - 7 for i in range(15)]
    assert all(ledger_balance(p) == 100 + i - 7 for i, p in enumerate(products))
