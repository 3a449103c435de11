import itertools
from decimal import Decimal

import pytest

from inventory.models import Product
from inventory.stock_state import StockState, stock_state_of

pytestmark = pytest.mark.django_db


def test_stock_state_in_sql_and_in_python_agree_on_every_boundary(make_product):
    for stock, threshold in itertools.product([0, 1, 9, 10, 11, 50], [0, 1, 10]):
        make_product(stock=stock, low_stock_threshold=threshold)
    annotated = Product.objects.annotate_stock_state()
    assert annotated.count() == 18
    for product in annotated:
        assert product.stock_state_value == product.stock_state, (
            product.stock,
            product.low_stock_threshold,
        )
    assert stock_state_of(stock=10, low_stock_threshold=10) == StockState.LOW
    assert stock_state_of(stock=11, low_stock_threshold=10) == StockState.OK
    assert stock_state_of(stock=0, low_stock_threshold=0) == StockState.OUT


def test_stock_filters_split_products_by_state(make_product):
    out = make_product(stock=0)
    low = make_product(stock=3)
    at_threshold = make_product(stock=10)
    plenty = make_product(stock=100)

    assert set(Product.objects.out_of_stock()) == {out}
    assert set(Product.objects.low_stock()) == {low, at_threshold}
    assert set(Product.objects.in_stock()) == {low, at_threshold, plenty}


def test_published_featured_and_available(make_product):
    live = make_product(stock=5, published=True, is_featured=True)
    draft = make_product(stock=5, published=False)
    sold_out = make_product(stock=0, published=True)

    assert set(Product.objects.published()) == {live, sold_out}
    assert set(Product.objects.featured()) == {live}
    assert set(Product.objects.available()) == {live}
    assert live.is_available and not draft.is_available and not sold_out.is_available


def test_in_category_includes_every_sub_category(make_category, make_product):
    electronics = make_category("Electronics")
    phones = make_category("Phones", parent=electronics)
    cases = make_category("Phone cases", parent=phones)
    books = make_category("Books")
    tv = make_product(category=electronics)
    phone = make_product(category=phones)
    case = make_product(category=cases)
    make_product(category=books)

    assert set(Product.objects.in_category(electronics)) == {tv, phone, case}
    assert set(Product.objects.in_category(phones)) == {phone, case}


def test_stock_value_is_price_times_stock(make_product):
    make_product(stock=3, price="2.50")
    make_product(stock=0, price="99.00")
    make_product(stock=10, price="1.25")

    values = sorted(p.stock_value for p in Product.objects.with_stock_value())
    assert values == [Decimal("0"), Decimal("7.50"), Decimal("12.50")]
    assert Product.objects.total_stock_value() == Decimal("20.00")


def test_category_slug_and_product_slug_are_made_from_the_name_and_kept_unique(make_category, make_product):
    first = make_category("Garden Tools")
    assert first.slug == "garden-tools"
    a = make_product(name="Rake Deluxe")
    b = make_product(name="Rake Deluxe")
    assert a.slug == "rake-deluxe"
    assert b.slug == "rake-deluxe-2"
