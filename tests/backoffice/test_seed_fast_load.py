"""A big seed loads its tables without upkeep of their plain indexes and builds every one of them again
after, also when loading fails."""

import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from core.bulk import foreign_keys_deferred, in_processes, load_settings, secondary_indexes_deferred
from core.summaries import summaries_paused
from inventory.models import Product, StockMovement
from inventory.selectors import stock_mismatches
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


def foreign_keys() -> set[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
        )
        return set(cursor.fetchall())


def test_foreign_keys_come_back_checked_and_a_row_pointing_nowhere_is_refused():
    before = foreign_keys()
    with foreign_keys_deferred([Product, StockMovement]) as dropped:
        assert dropped and not {name for _, name, _ in foreign_keys()} & set(dropped)
    assert foreign_keys() == before

    with (
        pytest.raises(IntegrityError, match="point nowhere"),
        foreign_keys_deferred([StockMovement]),
        connection.cursor() as cursor,
    ):  # unchecked meanwhile: a movement of no product
        cursor.execute(
            "INSERT INTO inventory_stockmovement (product_id, quantity, kind, reason, stock_after, "
            "created_at, reference_id, tenant_id) SELECT gen_random_uuid(), 1, 'receipt', '', 1, "
            "now(), '', id FROM backoffice_tenant LIMIT 1"
        )
    missing = {name for _, name, _ in before - foreign_keys()}
    assert len(missing) == 1 and "product" in next(iter(missing)), "only the key the row breaks"


SNAPSHOT_TABLES = (
    "inventory_stockmovement, inventory_historicalproduct, inventory_product, orders_payment, "
    "orders_orderreturnline, orders_orderreturn, orders_ordernote, orders_orderitem, orders_order, "
    "orders_historicalcustomer, orders_customer, audit_auditentry, audit_auditseal, audit_trailcheck, "
    "fake_gateway_operation"
)


def seeded():
    return (
        list(Product.objects.order_by("sku").values_list("sku", "name", "price", "stock", "is_published")),
        list(Order.objects.order_by("number").values_list("number", "status", "total", "customer__name")),
        list(
            StockMovement.objects.order_by("product__sku", "created_at", "quantity").values_list(
                "product__sku", "kind", "quantity", "stock_after"
            )
        ),
    )


@pytest.mark.django_db(transaction=True)
def test_a_seed_made_by_several_processes_is_the_one_made_in_one(monkeypatch, roles):
    """Outside a transaction, chunks of products and orders are made by two processes at once; inside
    one (as in the test above), one after the other here: the same seed gives the same shop."""
    monkeypatch.setattr("backoffice.management.commands.seed_demo.DEFERRED_INDEXES_FROM", 50)
    monkeypatch.setattr("inventory.demo_data.PRODUCTS_PER_CHUNK", 15)
    monkeypatch.setattr("orders.demo_data.BATCH", 12)
    options = {"products": 40, "customers": 10, "orders": 50, "no_users": True, "seed": 9}
    call_command("seed_demo", **options, stdout=io.StringIO())
    in_processes = seeded()
    assert not stock_mismatches().exists()
    assert len(in_processes[0]) == 40 and len(in_processes[1]) == 50

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {SNAPSHOT_TABLES} RESTART IDENTITY CASCADE")
        call_command("seed_demo", **options, stdout=io.StringIO())
        assert seeded() == in_processes
        transaction.set_rollback(True)


def session_state(job, shared):
    """Run in ``in_processes``' processes (and here): this connection's settings, and whose it is."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting('backoffice.summaries', true), ''), "
            "current_setting('maintenance_work_mem'), "
            "pg_backend_pid()"
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_processes_load_under_this_sessions_settings_and_this_connection_keeps_them_meanwhile():
    """Summary triggers paused and memory for the index builds, in every process of a load and in
    this one while it writes between their results (the shelf's movements)."""
    before = session_state(None, None)
    with load_settings(), summaries_paused():
        here = session_state(None, None)
        seen = []
        for result in in_processes(session_state, [1, 2, 3, 4]):
            seen.append(result)
            assert session_state(None, None)[:2] == ("paused", "512MB")
    assert here[:2] == ("paused", "512MB")
    assert {state[:2] for state in seen} == {("paused", "512MB")}
    assert here[2] not in {state[2] for state in seen}, "made by other connections"
    assert session_state(None, None)[:2] == before[:2] != ("paused", "512MB")
