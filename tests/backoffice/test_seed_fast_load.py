"""A big seed loads its tables without upkeep of their plain indexes and builds every one of them again
after, also when loading fails."""

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count

from audit.models import AuditEntry, AuditSeal
from audit.sealing import trail_verify
from core.bulk import (
    foreign_keys_deferred,
    in_processes,
    load_settings,
    on_connections,
    secondary_indexes_deferred,
)
from core.summaries import summaries_paused
from core.tenancy import current_tenant
from inventory.models import Product, StockMovement
from inventory.selectors import stock_mismatches
from orders.models import Customer, Order, OrderNote, OrderReturnLine, Payment

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
    "inventory_historicalcategory, inventory_category, "
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
        list(
            Payment.objects.order_by("order__number", "created_at", "kind").values_list(
                "order__number", "kind", "status", "purpose", "amount"
            )
        ),
        list(
            OrderReturnLine.objects.order_by("order_return__order__number", "line__product__sku").values_list(
                "order_return__order__number", "order_return__status", "line__product__sku", "quantity"
            )
        ),
        list(OrderNote.objects.order_by("order__number", "created_at").values_list("order__number", "text")),
        {
            model._meta.label: model.objects.count()
            for model in (Product.history.model, Customer.history.model, AuditSeal)
        },
        list(
            AuditEntry.objects.values_list("action", "reason")
            .annotate(entries=Count("id"))
            .order_by("action", "reason")
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
    before = index_definitions()
    call_command("seed_demo", **options, stdout=io.StringIO())
    in_processes = seeded()
    assert not stock_mismatches().exists()
    _, _, movements, payments, returned, notes, counts, entries = in_processes
    assert len(in_processes[0]) == 40 and len(in_processes[1]) == 50
    assert all((movements, payments, returned, notes)), "every kind of row is compared"
    assert counts["orders.HistoricalCustomer"] == 10 and sum(n for *_, n in entries) > 40
    assert index_definitions() == before, "built again by two connections"
    assert trail_verify(current_tenant()).ok, "the seed's own check read no entry back: this one does"

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


def statements_seen() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid = pg_backend_pid(), memory FROM seen_by ORDER BY 1")
        rows = cursor.fetchall()
        cursor.execute("TRUNCATE seen_by")
    return rows


@pytest.mark.django_db(transaction=True)
def test_statements_run_on_two_connections_under_this_sessions_settings_and_a_failure_is_raised_last():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE seen_by (pid int, memory text)")
    record = "INSERT INTO seen_by SELECT pg_backend_pid(), current_setting('maintenance_work_mem')"
    try:
        with load_settings():
            # Each waits, so that the other connection takes the next statement meanwhile.
            on_connections([f"SELECT pg_sleep(0.2); {record}"] * 4, 2)
            seen = statements_seen()
            assert len(seen) == 4 and {memory for _, memory in seen} == {"512MB"}
            assert {here for here, _ in seen} == {True, False}, "this connection and another"

            with pytest.raises(DatabaseError, match="no_such_table"):
                on_connections(["SELECT 1 FROM no_such_table", f"SELECT pg_sleep(0.2); {record}"], 2)
            assert len(statements_seen()) == 1, "the other statement ran all the same"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE seen_by")
