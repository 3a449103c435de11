"""Sixteen buyers race for the last ten units: exactly ten are sold, nobody oversells, no deadlock.
Two staff refund the same order at once: never more than was paid goes back."""

import threading

import pytest
from django.db import connection
from django.db.models import Sum

from backoffice.models import Tenant
from core.tenancy import activate, current_tenant
from inventory.models import Product, StockMovement
from orders.models import Order, OrderItem, Payment
from orders.services import InsufficientStock, OrderError, order_place, order_refund, order_ship

pytestmark = [pytest.mark.django_db(transaction=True)]


def race(buyers, attempt):
    barrier = threading.Barrier(len(buyers))
    outcomes, errors = [], []
    tenant = Tenant.objects.get(pk=current_tenant().pk)  # threads don't inherit the context

    def run(buyer):
        try:
            barrier.wait()
            with activate(tenant):
                outcomes.append(attempt(buyer))
        except (InsufficientStock, OrderError) as refused:
            outcomes.append(refused)
        except Exception as error:  # anything else is a failure of the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes, errors


def test_sixteen_buyers_for_the_last_ten_units(make_product, make_customer):
    product = make_product(stock=10, name="Last lamp", sku="LAMP-LAST")
    customers = [make_customer() for _ in range(16)]

    outcomes, errors = race(customers, lambda c: order_place(customer=c, lines={product.pk: 1}))

    assert errors == []
    sold = [o for o in outcomes if not isinstance(o, InsufficientStock)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(sold) == 10 and len(refused) == 6
    assert all("Last lamp (LAMP-LAST): 0 available, 1 requested" in str(r) for r in refused)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert OrderItem.objects.filter(product=product).aggregate(u=Sum("quantity"))["u"] == 10
    ledger_sold = StockMovement.objects.filter(product=product, kind="sale").aggregate(u=Sum("quantity"))["u"]
    assert ledger_sold == -10


def test_orders_locking_the_same_products_in_opposite_order_never_deadlock(make_product, make_customer):
    first = make_product(stock=100)
    second = make_product(stock=100)
    customers = [make_customer() for _ in range(12)]

    def buy(customer):
        # Half the buyers name the products one way round, half the other: the service locks by pk.
        lines = {first.pk: 1, second.pk: 1} if customer.pk % 2 else {second.pk: 1, first.pk: 1}
        return order_place(customer=customer, lines=lines)

    outcomes, errors = race(customers, buy)

    assert errors == [] and len(outcomes) == 12
    assert Product.objects.get(pk=first.pk).stock == 88
    assert Product.objects.get(pk=second.pk).stock == 88


def test_two_staff_refunding_the_same_order_at_once_cant_exceed_what_was_paid(make_product, make_customer):
    order = order_place(customer=make_customer(), lines={make_product(price="50.00", stock=5): 1})  # 54.00
    order_ship(order=order)

    # Each asks for 30.00 of the 54.00: both can't be right.
    outcomes, errors = race(
        ["sam", "kim"], lambda who: order_refund(order=order, amount=30, reason=f"{who}: late")
    )

    assert errors == []
    refused = [o for o in outcomes if isinstance(o, OrderError)]
    assert len(refused) == 1 and "is more than can be refunded" in str(refused[0])
    refunds = Payment.objects.filter(order=order, kind="refund")
    assert [p.amount for p in refunds] == [30] and refunds.get().status == "succeeded"
    paid = Order.objects.with_money().get(pk=order.pk)
    assert paid.refunded == 30 and paid.total == 24 and paid.balance == 0


def test_many_small_refunds_at_once_stop_at_what_is_left(make_product, make_customer):
    order = order_place(customer=make_customer(), lines={make_product(price="10.00", stock=5): 1})  # 10.80
    order_ship(order=order)

    outcomes, errors = race(list(range(6)), lambda n: order_refund(order=order, amount=2, reason=f"part {n}"))

    assert errors == []
    assert sum(1 for o in outcomes if not isinstance(o, OrderError)) == 5  # 5 x 2.00 fit in 10.80
    paid = Order.objects.with_money().get(pk=order.pk)
    assert paid.refunded == 10 and paid.refunded <= paid.paid
