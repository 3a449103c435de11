"""A big seed loads its tables without upkeep of their plain indexes and builds every one of them again
after, also when loading fails."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from core.bulk import secondary_indexes_deferred
from inventory.models import Product, StockMovement
from orders.models import Order

pytestmark = pytest.mark.django_db


def index_definitions() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
        return dict(cursor.fetchall())


def test_a_big_seed_drops_the_plain_indexes_while_loading_and_builds_them_all_again(monkeypatch):
    monkeypatch.setattr("backoffice.management.commands.seed_demo.DEFERRED_INDEXES_FROM", 50)
    before = index_definitions()
    out = io.StringIO()
    call_command("seed_demo", products=40, customers=10, orders=30, no_users=True, seed=4, stdout=out)
    assert "dropped while loading, built and checked after" in out.getvalue()
    assert index_definitions() == before
    assert Product.objects.count() == 40 and Order.objects.count() == 30
    assert StockMovement.objects.exists()


def test_a_small_seed_keeps_its_indexes(monkeypatch):
    out = io.StringIO()
    call_command("seed_demo", products=10, customers=3, orders=5, no_users=True, seed=4, stdout=out)
    assert "indexes dropped" not in out.getvalue()


def test_the_indexes_come_back_when_loading_fails():
    before = index_definitions()
    with pytest.raises(RuntimeError), secondary_indexes_deferred([Product, StockMovement]) as dropped:
        assert "product_name_idx" in dropped and "movement_kind_idx" in dropped
        assert "product_name_idx" not in index_definitions()
        assert "inventory_product_pkey" in index_definitions(), "primary keys stay"
        raise RuntimeError("the load failed")
    assert index_definitions() == before
