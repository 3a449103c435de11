"""Two connections writing one order at once, on PostgreSQL: a line added while the order's status
changes is counted under the status the order ends with, and the summaries stay exact."""

import threading

import pytest
from django.db import connection, transaction

from backoffice.models import Tenant
from core.summaries import summaries_check
from orders.models import Order, OrderItem
from orders.services import order_place
from tests.concurrency_helpers import in_thread, someone_waits_for_a_lock

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_line_added_while_the_status_changes_counts_under_the_final_status(make_product, make_customer):
    shop = Tenant.objects.get(subdomain="main")
    lamp, vase = make_product(stock=10), make_product(stock=10)
    order = order_place(customer=make_customer(), lines={lamp: 1}, charge=False)  # awaiting payment
    results, changing = [], threading.Event()

    def status_change():
        # Not through a service (which would lock the order first): the database keeps the figures.
        with transaction.atomic():
            Order.objects.filter(pk=order.pk).update(status="paid")
            changing.set()
            someone_waits_for_a_lock()  # the line's insert waits for this status to commit
        return "paid"

    thread = in_thread(status_change, results, shop)
    assert changing.wait(10)
    with connection.cursor() as cursor:  # a line written straight to the table, during the change
        cursor.execute(
            "INSERT INTO orders_orderitem (tenant_id, order_id, product_id, quantity, unit_price, "
            "line_total) VALUES (%s, %s, %s, 2, 5, 10)",
            [shop.pk, order.pk, vase.pk],
        )
    thread.join(30)

    assert results == ["paid"]
    assert OrderItem.objects.filter(order=order).count() == 2
    assert not any(summaries_check().values())
