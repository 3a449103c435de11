import pytest
from django.core.cache import cache

from inventory.selectors import featured_products
from inventory.services import featured_cache_key, product_cache_keys, product_set_flag, stock_adjust

pytestmark = pytest.mark.django_db


def test_featured_list_is_cached_and_forgotten_when_a_product_changes(
    make_product, django_capture_on_commit_callbacks
):
    lamp = make_product(name="Lamp", is_featured=True, stock=5)
    assert [p.name for p in featured_products()] == ["Lamp"]
    assert cache.get(featured_cache_key()) is not None

    with django_capture_on_commit_callbacks(execute=True):
        make_product(name="Desk", is_featured=True, stock=5)
    assert cache.get(featured_cache_key()) is None  # cleared once the new product was committed
    assert {p.name for p in featured_products()} == {"Lamp", "Desk"}

    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(product=lamp, quantity=-5, reason="Sold out at the fair")
    assert cache.get(featured_cache_key()) is None  # stock changes through .update() clear it too
    assert [p.name for p in featured_products()] == ["Desk"]


def test_saving_a_product_clears_its_detail_key(make_product, django_capture_on_commit_callbacks):
    lamp = make_product(published=False)
    keys = product_cache_keys(lamp.pk)
    cache.set_many(dict.fromkeys(keys, "stale"))
    with django_capture_on_commit_callbacks(execute=True):
        product_set_flag(flag="publish", products=[lamp])
    assert cache.get_many(keys) == {}
