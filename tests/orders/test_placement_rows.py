"""Placing an order writes every row it must (history, audit entries, ledger, charge, e-mail) in a fixed
number of statements, however many lines the order has: the count is pinned so it can't creep back
(``bench/place_orders`` holds the service against hand-written SQL doing the same work)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from inventory.models import Product, StockMovement
from notifications.models import Message
from orders.models import Order, OrderItem, OrderStatus, Payment
from orders.services import order_place

pytestmark = pytest.mark.django_db

# On the shop's connection (the payment provider has its own), transaction markers included: 12 to
# take the stock and open the charge (begin, lock, ids, then the rows, the stock, history and audit
# entries in one pipeline of 8, commit), 6 to settle it (begin, the lock and the payment in one
# pipeline, the order paid with its history in another, commit), 2 after the commit (popularity,
# e-mail). In 11 round trips.
STATEMENTS = 20


def placed(customer, lines, user, capture):
    ContentType.objects.get_for_models(Order, OrderItem, Product)  # cached in a process that has served
    with CaptureQueriesContext(connection) as statements, capture(execute=True):
        order = order_place(customer=customer, lines=lines, user=user)
    return order, statements


@pytest.mark.parametrize("line_count", [1, 3])
def test_placing_an_order_takes_the_same_statements_whatever_its_lines(
    line_count, make_product, make_customer, gateway, admin_user, django_capture_on_commit_callbacks
):
    products = [make_product(price="5.00", stock=10) for _ in range(line_count)]
    order, statements = placed(
        make_customer(), dict.fromkeys(products, 2), admin_user, django_capture_on_commit_callbacks
    )

    assert order.status == OrderStatus.PAID
    assert len(statements) == STATEMENTS, "\n".join(q["sql"][:120] for q in statements.captured_queries)


def test_a_placed_order_has_each_history_row_with_its_audit_entry(
    make_product, make_customer, gateway, admin_user, django_capture_on_commit_callbacks
):
    mug, lamp = make_product(name="Mug", price="4.00", stock=10), make_product(name="Lamp", stock=3)
    order, _ = placed(make_customer(), {mug: 2, lamp: 3}, admin_user, django_capture_on_commit_callbacks)

    placed_reason, paid_reason = f"Order {order.number} placed", f"Order {order.number} paid"
    order_rows = list(order.history.order_by("history_id"))
    assert [(r.history_type, r.status, r.history_change_reason) for r in order_rows] == [
        ("+", OrderStatus.PENDING, placed_reason),
        ("~", OrderStatus.PAID, paid_reason),
    ]
    line_rows = OrderItem.history.filter(order_id=order.pk)
    assert sorted((r.product_id, r.quantity, r.history_type) for r in line_rows) == sorted(
        [(mug.pk, 2, "+"), (lamp.pk, 3, "+")]
    )
    product_rows = Product.history.filter(id__in=[mug.pk, lamp.pk], history_change_reason=placed_reason)
    assert sorted((r.name, r.stock, r.history_type) for r in product_rows) == [
        ("Lamp", 0, "~"),
        ("Mug", 8, "~"),
    ]
    assert all(r.history_user_id == admin_user.pk for r in [*order_rows, *line_rows, *product_rows])

    # Every history row has its audit entry, pointing to it, naming the object and what changed.
    for model, rows, action, fields in [
        (Order, order_rows[:1], "created", []),
        (Order, order_rows[1:], "changed", ["status"]),
        (OrderItem, list(line_rows), "created", []),
        (Product, list(product_rows), "changed", ["stock"]),
    ]:
        for row in rows:
            entry = AuditEntry.objects.get(
                content_type=ContentType.objects.get_for_model(model), history_id=row.history_id
            )
            assert entry.object_id == str(row.id) and entry.object_repr == str(row.instance)
            assert (entry.action, entry.changed_fields, entry.user_id) == (action, fields, admin_user.pk)
            assert entry.reason == row.history_change_reason and entry.created_at == row.history_date

    movements = StockMovement.objects.filter(reference_id=str(order.pk))
    assert sorted((m.product_id, m.quantity, m.stock_after) for m in movements) == sorted(
        [(mug.pk, -2, 8), (lamp.pk, -3, 0)]
    )
    order_type = ContentType.objects.get_for_model(Order)
    assert {(m.kind, m.reason, m.user_id, m.reference_type_id) for m in movements} == {
        ("sale", placed_reason, admin_user.pk, order_type.pk)
    }
    (charge,) = Payment.objects.filter(order=order)
    assert (charge.status, charge.amount) == ("succeeded", order.total)
    (message,) = Message.objects.filter(order=order)
    assert (message.kind, message.event_key) == ("order_placed", f"order_placed:{order.pk}")
    assert message.context == {"paid": True}
