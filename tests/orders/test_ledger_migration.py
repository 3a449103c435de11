"""Orders written before the payments ledger are carried over by migration 0003: their payment
reference becomes a charge (and a refund for cancelled and refunded ones), their internal note their
first note, and every order then agrees with its payments."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.tenancy import current_tenant
from orders.models import Order, OrderNote, Payment
from orders.payments import FakePaymentGateway

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("orders", "0002_postgres_search")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def old_order(cursor, tenant_id, customer_id, number, status, reference="", note=""):
    cursor.execute(
        "INSERT INTO orders_order (tenant_id, number, customer_id, status, subtotal, tax, total, "
        "payment_reference, shipping_address, internal_note, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, 100.00, 8.00, 108.00, %s, '1 Road', %s, now(), now()) RETURNING id",
        [tenant_id, number, customer_id, status, reference, note],
    )
    return cursor.fetchone()[0]


def test_orders_of_before_the_ledger_are_carried_over_and_reconcile(make_customer):
    tenant_id = current_tenant().pk
    customer = make_customer()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            ids = {
                status: old_order(cursor, tenant_id, customer.pk, f"OLD-{n}", status, reference, note)
                for n, (status, reference, note) in enumerate(
                    [
                        ("paid", "old_ch_1", "Call before delivery"),
                        ("shipped", "old_ch_2", ""),
                        ("cancelled", "old_ch_3", ""),
                        ("refunded", "old_ch_4", ""),
                        ("pending", "", "Pays on delivery"),
                    ]
                )
            }
    finally:
        migrate(latest)

    orders = {o.status: o for o in Order.objects.with_money()}
    assert (orders["paid"].paid, orders["paid"].balance) == (Decimal("108.00"), 0)
    assert orders["shipped"].shipped_at is not None
    for ended in ("cancelled", "refunded"):
        assert (orders[ended].total, orders[ended].credited, orders[ended].refunded) == (
            0,
            Decimal("108.00"),
            Decimal("108.00"),
        )
    assert orders["pending"].paid == 0 and orders["pending"].balance == Decimal("108.00")
    assert Payment.objects.get(order_id=ids["paid"]).gateway_reference == "old_ch_1"
    notes = dict(OrderNote.objects.values_list("order_id", "text"))
    assert notes == {ids["paid"]: "Call before delivery", ids["pending"]: "Pays on delivery"}
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "Every order agrees with its payments." in out.getvalue()
    # The fake provider knows the carried-over charges: what is left on them can be refunded.
    FakePaymentGateway().refund(
        charge_reference="old_ch_2",
        amount=Decimal("108.00"),
        currency="USD",
        idempotency_key="after-migration",
    )
