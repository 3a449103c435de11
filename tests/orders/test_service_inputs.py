"""Services take ids as the callers have them (JSON, forms, URLs: text) and refuse malformed ones with
a message saying what was wrong, before anything is written."""

import uuid

import pytest

from inventory.models import Product, StockMovement
from inventory.services import CatalogueError, product_set_flag, stock_apply, stock_reconcile
from orders.models import Order, OrderStatus
from orders.services import OrderError, order_bulk_transition, order_lines_set, order_place

pytestmark = pytest.mark.django_db


def test_an_order_takes_product_ids_as_text_or_uuids(make_product, make_customer, gateway):
    mug, lamp = make_product(stock=10), make_product(stock=10)

    order = order_place(customer=make_customer(), lines={str(mug.pk): 2, lamp.pk: "3"})

    assert {(line.product_id, line.quantity) for line in order.items.all()} == {(mug.pk, 2), (lamp.pk, 3)}
    assert Product.objects.get(pk=mug.pk).stock == 8
    assert Product.objects.get(pk=lamp.pk).stock == 7


def test_the_same_product_as_object_and_as_text_is_one_line(make_product, make_customer, gateway):
    mug = make_product(stock=10)

    order = order_place(customer=make_customer(), lines=[(mug, 1), (str(mug.pk).upper(), 2)])

    assert [line.quantity for line in order.items.all()] == [3]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ({"not-a-uuid": 1}, r"'not-a-uuid' is not a product id"),
        ({42: 1}, r"42 is not a product id"),
        ({None: 1}, r"None is not a product id"),
        ("abc", r"Order lines must map products to quantities"),
        ([("only-one",)], r"must be a \(product, quantity\) pair"),
    ],
)
def test_malformed_product_ids_are_refused_saying_what_was_given(
    lines, message, make_product, make_customer, gateway
):
    make_product(stock=10)

    with pytest.raises(OrderError, match=message):
        order_place(customer=make_customer(), lines=lines)

    assert not Order.objects.exists()
    assert gateway.charges == []


@pytest.mark.parametrize("quantity", ["two", 1.5, None, True, "1.5"])
def test_a_quantity_that_is_not_a_whole_number_is_refused_naming_it(
    quantity, make_product, make_customer, gateway
):
    mug = make_product(stock=10)

    with pytest.raises(OrderError, match=rf"quantity of product {mug.pk} must be a whole number, not "):
        order_place(customer=make_customer(), lines={mug.pk: quantity})

    assert Product.objects.get(pk=mug.pk).stock == 10


def test_an_unknown_but_well_formed_id_is_still_unknown(make_customer, gateway):
    ghost = uuid.uuid4()

    with pytest.raises(OrderError, match=f"Unknown product\\(s\\): {ghost}"):
        order_place(customer=make_customer(), lines={str(ghost): 1})


def test_editing_lines_by_id_text(make_product, make_customer, gateway):
    mug, lamp = make_product(stock=10), make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 1})

    order_lines_set(order=order, quantities={str(lamp.pk): "2"})

    assert Product.objects.get(pk=lamp.pk).stock == 8
    with pytest.raises(OrderError, match="'lamp' is not a product id"):
        order_lines_set(order=order, quantities={"lamp": 1})
    assert Product.objects.get(pk=lamp.pk).stock == 8


def test_bulk_transitions_take_order_ids_as_text(make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(stock=5): 1})

    order_bulk_transition(orders=[str(order.pk)], to=OrderStatus.SHIPPED)

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    with pytest.raises(OrderError, match="'ORD-1' is not an order id"):
        order_bulk_transition(orders=["ORD-1"], to=OrderStatus.COMPLETED)


def test_stock_services_take_ids_as_text_and_refuse_malformed_ones(make_product):
    tent = make_product(stock=5, published=False)

    stock_apply(changes={str(tent.pk): 2}, kind="adjustment", reason="Found")
    product_set_flag(products=[str(tent.pk)], flag="publish")

    tent.refresh_from_db()
    assert (tent.stock, tent.is_published) == (7, True)
    assert stock_reconcile(product_id=str(tent.pk)) is None  # the ledger explains the stock
    movements = StockMovement.objects.count()
    with pytest.raises(CatalogueError, match="'tent' is not a product id"):
        stock_apply(changes={"tent": 2}, kind="adjustment", reason="Found")
    with pytest.raises(CatalogueError, match="whole number of units, not '2'"):
        stock_apply(changes={tent.pk: "2"}, kind="adjustment", reason="Found")
    with pytest.raises(CatalogueError, match="'tent' is not a product id"):
        product_set_flag(products=["tent"], flag="publish")
    with pytest.raises(CatalogueError, match="Unknown product"):
        stock_reconcile(product_id=uuid.uuid4())
    assert StockMovement.objects.count() == movements


def test_a_revert_takes_ids_as_text_and_refuses_malformed_ones(make_product, ops_user):
    from audit.services import RevertRefused, record_revert

    tent = make_product(name="Tent")
    version = tent.history.first()
    tent.name = "Tnet"
    tent.save()

    with pytest.raises(RevertRefused, match="'tent' is not a product id"):
        record_revert(model=Product, object_id="tent", history_id=version.history_id, reason="Typo")
    with pytest.raises(RevertRefused, match="'latest' is not a version number"):
        record_revert(model=Product, object_id=str(tent.pk), history_id="latest", reason="Typo")
    text_ids = {"object_id": str(tent.pk), "history_id": str(version.history_id)}
    record_revert(model=Product, **text_ids, user=ops_user, reason="Typo")
    assert Product.objects.get(pk=tent.pk).name == "Tent"
