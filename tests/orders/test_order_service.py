import random
from decimal import Decimal

import pytest
from django.db.models import Sum

from inventory.models import Product, StockMovement
from inventory.selectors import ledger_balance
from inventory.services import stock_adjust
from orders.models import Order, OrderItem, OrderStatus, Payment
from orders.services import (
    InsufficientStock,
    OrderError,
    PaymentDeclined,
    order_bulk_transition,
    order_cancel,
    order_line_add,
    order_line_change,
    order_line_remove,
    order_lines_set,
    order_pay,
    order_place,
    order_refund,
    order_ship,
    order_transition,
)
from tests.orders.helpers import money_of, reconciles, stock_of

pytestmark = pytest.mark.django_db


def test_placing_an_order_takes_stock_charges_the_customer_and_computes_tax_to_the_cent(
    make_product, make_customer, gateway
):
    mug = make_product(price="12.99", stock=10)
    lamp = make_product(price="0.35", stock=5)
    customer = make_customer()

    order = order_place(customer=customer, lines={mug: 3, lamp: 1})

    assert order.number == f"ORD-{order.pk:06d}"
    assert order.status == OrderStatus.PAID
    assert order.subtotal == Decimal("39.32")  # 3 x 12.99 + 0.35
    assert order.tax == Decimal("3.15")  # 8 % of 39.32 = 3.1456
    assert order.total == Decimal("42.47")
    assert gateway.charges == [Decimal("42.47")]
    (charge,) = Payment.objects.filter(order=order)
    assert (charge.kind, charge.status, charge.amount) == ("charge", "succeeded", Decimal("42.47"))
    assert charge.gateway_reference.startswith("fake_ch_") and charge.idempotency_key
    assert money_of(order) == {
        "total": Decimal("42.47"),
        "paid": Decimal("42.47"),
        "refunded": Decimal("0.00"),
        "balance": Decimal("0.00"),
    }
    assert stock_of(mug) == 7 and stock_of(lamp) == 4
    assert order.shipping_address == customer.default_shipping_address
    lines = {line.product_id: line for line in order.items.all()}
    assert lines[mug.pk].unit_price == Decimal("12.99") and lines[mug.pk].line_total == Decimal("38.97")


def test_products_can_be_named_by_their_ids_as_text(make_product, make_customer, gateway):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={str(mug.pk): 2})
    assert order.items.get().quantity == 2 and stock_of(mug) == 8
    with pytest.raises(OrderError, match="is not a product id"):
        order_place(customer=make_customer(), lines={"not-an-id": 1})


def test_the_sale_is_in_the_stock_ledger_pointing_at_the_order(make_product, make_customer, gateway):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 4})

    sale = StockMovement.objects.get(product=mug, kind=StockMovement.Kind.SALE)
    assert sale.quantity == -4 and sale.stock_after == 6
    assert sale.reference == order
    assert ledger_balance(mug) == stock_of(mug) == 6


def test_an_order_for_more_than_is_in_stock_changes_nothing_and_says_how_many_are_left(
    make_product, make_customer, gateway
):
    tent = make_product(stock=2, name="Tent", sku="TENT-2P")
    mug = make_product(stock=10)

    with pytest.raises(InsufficientStock) as refused:
        order_place(customer=make_customer(), lines={mug: 1, tent: 3})

    assert str(refused.value) == "Not enough stock for Tent (TENT-2P): 2 available, 3 requested."
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert stock_of(tent) == 2 and stock_of(mug) == 10
    assert gateway.charges == []


def test_a_declined_card_leaves_a_draft_with_its_stock_back_and_the_refusal_recorded(
    make_product, make_customer, gateway
):
    mug = make_product(stock=10)
    gateway.fail("charge", "decline")

    with pytest.raises(PaymentDeclined, match="Card declined"):
        order_place(customer=make_customer(), lines={mug: 2})

    order = Order.objects.get()
    assert order.status == OrderStatus.DRAFT and order.items.get().quantity == 2
    assert stock_of(mug) == 10 == ledger_balance(mug)
    (charge,) = Payment.objects.all()
    assert charge.status == "failed" and charge.failure == "Card declined."
    assert gateway.charges == []
    assert reconciles()


def test_unpublished_products_and_empty_orders_are_refused(make_product, make_customer, gateway):
    draft = make_product(published=False, name="Prototype")
    with pytest.raises(OrderError, match=r"Prototype .* is not published"):
        order_place(customer=make_customer(), lines={draft: 1})
    with pytest.raises(OrderError, match="at least one line"):
        order_place(customer=make_customer(), lines={})
    with pytest.raises(OrderError, match="at least 1"):
        order_place(customer=make_customer(), lines={make_product(): 0})


def test_order_placed_signal_raises_popularity(
    make_product, make_customer, gateway, django_capture_on_commit_callbacks
):
    mug = make_product(stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        order_place(customer=make_customer(), lines={mug: 3})
    assert Product.objects.get(pk=mug.pk).popularity_score == 3


def test_payment_on_delivery_leaves_the_order_awaiting_payment_until_it_is_taken(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2}, charge=False)

    assert order.status == OrderStatus.PENDING and stock_of(mug) == 8
    assert money_of(order)["balance"] == Decimal("21.60")  # due
    assert gateway.charges == []

    order = order_pay(order=order)

    assert order.status == OrderStatus.PAID
    assert gateway.charges == [Decimal("21.60")]
    assert money_of(order)["balance"] == 0
    assert reconciles()


def test_changing_a_line_moves_stock_by_the_difference_and_charges_or_refunds_it(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})

    order = order_lines_set(order=order, quantities={mug: 5})

    order.refresh_from_db()
    assert stock_of(mug) == 5
    assert (order.subtotal, order.tax, order.total) == (Decimal("50.00"), Decimal("4.00"), Decimal("54.00"))
    # The customer had paid 21.60; the extra 32.40 is charged, and recorded with its reference.
    assert gateway.charges == [Decimal("21.60"), Decimal("32.40")]
    extra = Payment.objects.get(purpose="edit")
    assert (
        extra.amount == Decimal("32.40")
        and extra.gateway_reference
        and extra.order_edit.difference == extra.amount
    )

    order = order_line_change(line=order.items.get(), quantity=1)
    order.refresh_from_db()
    assert stock_of(mug) == 9
    assert order.total == Decimal("10.80")
    # 43.20 back: the newest charge first (all 32.40 of it), then 10.80 of the first one.
    assert gateway.refunds == [Decimal("32.40"), Decimal("10.80")]
    assert money_of(order)["balance"] == 0 and order.status == OrderStatus.PAID
    assert ledger_balance(mug) == 9
    assert reconciles()


def test_an_edit_refuses_to_move_another_amount_than_the_one_support_saw(
    make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    with pytest.raises(OrderError, match=r"now moves 32\.40, not 10\.80"):
        order_lines_set(order=order, quantities={mug: 5}, expect_difference=Decimal("10.80"))
    assert order.items.get().quantity == 2 and stock_of(mug) == 8 and gateway.charges == [Decimal("21.60")]


def test_adding_and_removing_lines(make_product, make_customer, gateway):
    mug = make_product(price="10.00", stock=10)
    lamp = make_product(price="25.50", stock=3)
    order = order_place(customer=make_customer(), lines={mug: 1}, charge=False)

    order = order_line_add(order=order, product=lamp, quantity=2)
    order.refresh_from_db()
    assert order.items.count() == 2 and stock_of(lamp) == 1
    assert order.subtotal == Decimal("61.00") and order.total == Decimal("65.88")

    order = order_line_remove(line=order.items.get(product=mug))
    order.refresh_from_db()
    assert list(order.items.values_list("product_id", flat=True)) == [lamp.pk]
    assert stock_of(mug) == 10
    assert order.total == Decimal("55.08")
    assert gateway.charges == [] and gateway.refunds == []  # awaiting payment: no money moved yet


def test_an_edit_needing_more_stock_than_left_changes_nothing(make_product, make_customer, gateway):
    mug = make_product(price="10.00", stock=3)
    order = order_place(customer=make_customer(), lines={mug: 2})

    with pytest.raises(InsufficientStock, match="1 available, 2 requested"):
        order_lines_set(order=order, quantities={mug: 4})

    order.refresh_from_db()
    assert order.items.get().quantity == 2 and order.total == Decimal("21.60")
    assert stock_of(mug) == 1
    assert Payment.objects.count() == 1


def test_lines_are_read_only_once_an_order_has_shipped(make_product, make_customer, gateway):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    order_transition(to="shipped", order=order)

    with pytest.raises(OrderError, match="shipped: its lines can only change while it is a draft"):
        order_line_change(line=order.items.get(), quantity=1)
    assert stock_of(mug) == 8


def test_removing_the_last_line_is_refused(make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    with pytest.raises(OrderError, match="cancel the order instead"):
        order_lines_set(order=order, quantities={order.items.get().product_id: 0})


def test_an_illegal_transition_changes_nothing_and_says_what_is_allowed(make_product, make_customer, gateway):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    order_cancel(order=order, reason="Duplicate")
    history_rows = order.history.count()

    with pytest.raises(OrderError) as refused:
        order_transition(to="shipped", order=order)
    assert "is cancelled and can't become shipped" in str(refused.value)

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert stock_of(mug) == 10
    assert order.history.count() == history_rows

    pending = order_place(customer=make_customer(), lines={mug: 1}, charge=False)
    with pytest.raises(OrderError, match="can become: paid, cancelled"):
        order_transition(to="completed", order=pending)


def test_bulk_transition_is_all_or_nothing_and_names_the_refused_orders(make_product, make_customer, gateway):
    mug = make_product(stock=10)
    paid = order_place(customer=make_customer(), lines={mug: 1})
    cancelled = order_cancel(order=order_place(customer=make_customer(), lines={mug: 1}), reason="Duplicate")

    with pytest.raises(OrderError) as refused:
        order_bulk_transition(orders=[paid, cancelled], to=OrderStatus.SHIPPED)
    assert cancelled.number in str(refused.value) and paid.number not in str(refused.value)
    paid.refresh_from_db()
    assert paid.status == OrderStatus.PAID

    assert order_bulk_transition(orders=[paid], to=OrderStatus.SHIPPED).row_count == 1


def test_history_rows_name_the_order_and_the_user(make_product, make_customer, gateway, support_user):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2}, user=support_user)
    order_cancel(order=order, reason="Duplicate", user=support_user)

    reasons = list(order.history.order_by("history_id").values_list("history_change_reason", "history_user"))
    assert reasons == [
        (f"Order {order.number} placed", support_user.pk),
        (f"Order {order.number} paid", support_user.pk),
        (f"Order {order.number} cancelled: Duplicate", support_user.pk),
    ]
    product_reasons = set(mug.history.values_list("history_change_reason", flat=True))
    assert f"Restocked by cancellation of {order.number}" in product_reasons
    assert Payment.objects.filter(user=support_user).count() == 2


def test_stock_and_money_always_agree_with_their_ledgers_after_many_random_operations(
    make_product, make_customer, gateway
):
    rng = random.Random(7)
    products = [make_product(stock=rng.randint(5, 25), price="3.00") for _ in range(6)]
    customers = [make_customer() for _ in range(3)]
    orders = []
    refused, reasons = 0, {}
    for _ in range(250):
        try:
            match rng.choice(["place", "place", "edit", "cancel", "refund", "ship", "adjust", "decline"]):
                case "place":
                    picks = rng.sample(products, rng.randint(1, 3))
                    orders.append(
                        order_place(
                            customer=rng.choice(customers),
                            lines={p: rng.randint(1, 4) for p in picks},
                            charge=rng.random() < 0.8,
                        )
                    )
                case "edit" if orders:
                    order_lines_set(
                        order=rng.choice(orders), quantities={rng.choice(products): rng.randint(0, 3)}
                    )
                case "cancel" if orders:
                    order_cancel(order=rng.choice(orders), reason="Random")
                case "refund" if orders:
                    order_refund(
                        order=rng.choice(orders), amount=Decimal(rng.randint(1, 20)), reason="Random"
                    )
                case "ship" if orders:
                    order_ship(order=rng.choice(orders))
                case "decline" if orders and not gateway.failures:
                    gateway.fail(rng.choice(["charge", "refund"]), "decline")
                case "adjust":
                    stock_adjust(
                        product=rng.choice(products), quantity=rng.randint(-5, 8) or 1, reason="Random count"
                    )
        except (OrderError, InsufficientStock, PaymentDeclined) as error:
            refused += 1
            reasons[type(error).__name__] = reasons.get(type(error).__name__, 0) + 1
    assert refused > 10 and len(orders) > 20, reasons  # the sequence really exercised both paths
    for product in products:
        assert stock_of(product) == ledger_balance(product) >= 0
    placed = OrderItem.objects.exclude(order__status__in=["draft", "cancelled"])
    sold = placed.aggregate(units=Sum("quantity"))["units"] or 0
    kinds = ["sale", "cancellation", "refund", "return"]
    sales = -(StockMovement.objects.filter(kind__in=kinds).aggregate(units=Sum("quantity"))["units"] or 0)
    assert sold == sales
    assert set(Order.objects.values_list("status", flat=True)) >= {"paid", "cancelled", "partially_refunded"}
    assert reconciles()
