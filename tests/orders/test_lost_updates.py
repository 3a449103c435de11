"""Two support staff editing the same customer, or the same order (its lines, its delivery address):
nobody's change is lost. Changes to different fields or lines merge; the same one changed by both
comes back side by side, with nothing saved, no stock moved and no money asked for. (A customer has no
``updated_at``: the page's version is the values it showed.)"""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from backoffice.roles import SUPPORT
from inventory.models import Product
from orders.models import Customer, Order
from orders.services import order_place
from tests.admin_helpers import form_data, has_message, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(roles):
    return staff_client("ada.support", first_name="Ada", role=SUPPORT)


@pytest.fixture
def sam(roles):
    return staff_client("sam", role=SUPPORT)


@pytest.fixture
def customer(make_customer):
    return make_customer(name="Grace Hopper", email="grace@example.com", phone="555-0100")


@pytest.fixture
def products(make_product):
    mug = make_product(name="Blue mug", sku="MUG-1", price="10.00", stock=20)
    lamp = make_product(name="Lamp", sku="LAMP-1", price="30.00", stock=20)
    return mug, lamp


@pytest.fixture
def order(products, make_customer, gateway):
    """An order awaiting payment (its lines change without moving money): 2 mugs and a lamp."""
    mug, lamp = products
    customer = make_customer(default_shipping_address="1 Old Road\nTown")
    return order_place(customer=customer, lines={mug: 2, lamp: 1}, charge=False)


def url(record):
    return reverse(f"admin:orders_{record._meta.model_name}_change", args=[record.pk])


def opened(client, order):
    response = client.get(url(order))
    assert response.status_code == 200
    return response


def line(page, sku):
    """The index of the line of product ``sku`` in the page's lines."""
    formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.prefix == "items")
    return next(i for i, form in enumerate(formset.initial_forms) if form.instance.product.sku == sku)


def save(client, record, page, **changes):
    return client.post(url(record), form_data(page, **changes), follow=True)


def quantities(order):
    return dict(Order.objects.get(pk=order.pk).items.values_list("product__sku", "quantity"))


def stock(sku):
    return Product.objects.get(sku=sku).stock


def conflict_rows(response):
    conflict = response.context["edit_conflict"]
    return [(c.record, c.label, c.before, c.theirs, c.yours, c.author.who) for c in conflict.clashes]


def test_an_address_and_a_line_changed_at_once_both_stay(ada, sam, order):
    sams_page, adas_page = opened(sam, order), opened(ada, order)
    save(ada, order, adas_page, shipping_address="2 New Road\r\nTown")

    response = save(sam, order, sams_page, **{f"items-{line(sams_page, 'MUG-1')}-quantity": "3"})

    assert response.redirect_chain, response.context["adminform"].form.errors
    order.refresh_from_db()
    assert order.shipping_address == "2 New Road\nTown"  # Sam's page still showed the old address
    assert quantities(order) == {"MUG-1": 3, "LAMP-1": 1}
    assert order.total == Decimal("64.80")  # (3 x 10 + 30) + 8% tax
    assert stock("MUG-1") == 17
    assert has_message(response, "Ada changed the shipping address at ")
    address_changes = order.history.filter(shipping_address="1 Old Road\nTown", history_user__username="sam")
    assert not address_changes.exists()


def test_two_lines_changed_by_two_people_both_stay(ada, sam, order):
    sams_page, adas_page = opened(sam, order), opened(ada, order)
    save(ada, order, adas_page, **{f"items-{line(adas_page, 'LAMP-1')}-quantity": "2"})

    response = save(sam, order, sams_page, **{f"items-{line(sams_page, 'MUG-1')}-quantity": "3"})

    assert response.redirect_chain
    assert quantities(order) == {"MUG-1": 3, "LAMP-1": 2}
    assert (stock("MUG-1"), stock("LAMP-1")) == (17, 18)


def test_the_same_line_changed_by_both_comes_back_side_by_side_and_nothing_moves(ada, sam, order):
    sams_page, adas_page = opened(sam, order), opened(ada, order)
    mug = line(sams_page, "MUG-1")
    save(ada, order, adas_page, **{f"items-{mug}-quantity": "3"})

    response = save(sam, order, sams_page, shipping_address="2 New Road", **{f"items-{mug}-quantity": "5"})

    assert conflict_rows(response) == [
        ("order line “3 x Blue mug (MUG-1)”", "quantity", "2", "3", "5", "Ada")
    ]
    order.refresh_from_db()
    assert quantities(order) == {"MUG-1": 3, "LAMP-1": 1}
    assert stock("MUG-1") == 17
    assert order.shipping_address == "1 Old Road\nTown"  # all or nothing
    clash = response.context["edit_conflict"].clashes[0]

    done = sam.post(url(order), form_data(response, **{clash.choice_name: "yours"}), follow=True)

    assert done.redirect_chain, done.context["adminform"].form.errors
    order.refresh_from_db()
    assert quantities(order) == {"MUG-1": 5, "LAMP-1": 1}
    assert stock("MUG-1") == 15
    assert order.shipping_address == "2 New Road"


def test_choosing_their_quantity_keeps_it_and_saves_the_rest(ada, sam, order):
    sams_page, adas_page = opened(sam, order), opened(ada, order)
    mug = line(sams_page, "MUG-1")
    save(ada, order, adas_page, **{f"items-{mug}-quantity": "3"})
    conflict = save(sam, order, sams_page, shipping_address="2 New Road", **{f"items-{mug}-quantity": "5"})
    clash = conflict.context["edit_conflict"].clashes[0]

    done = sam.post(url(order), form_data(conflict, **{clash.choice_name: "theirs"}), follow=True)

    assert done.redirect_chain
    order.refresh_from_db()
    assert quantities(order) == {"MUG-1": 3, "LAMP-1": 1}
    assert (stock("MUG-1"), order.shipping_address) == (17, "2 New Road")


def test_a_line_removed_since_that_the_person_changed_is_their_choice(ada, sam, order):
    sams_page, adas_page = opened(sam, order), opened(ada, order)
    lamp = line(sams_page, "LAMP-1")
    save(ada, order, adas_page, **{f"items-{lamp}-DELETE": "on"})
    assert quantities(order) == {"MUG-1": 2}

    conflict = save(sam, order, sams_page, **{f"items-{lamp}-quantity": "4"})

    assert conflict_rows(conflict) == [
        (
            "order line “4 x Lamp (LAMP-1)”",
            "the whole row",
            "as you opened it",
            "deleted",
            "changed: quantity 4",
            "Ada",
        )
    ]
    assert (quantities(order), stock("LAMP-1")) == ({"MUG-1": 2}, 20)
    clash = conflict.context["edit_conflict"].clashes[0]

    done = sam.post(url(order), form_data(conflict, **{clash.choice_name: "yours"}), follow=True)

    assert done.redirect_chain, done.context["adminform"].form.errors
    assert (quantities(order), stock("LAMP-1")) == ({"MUG-1": 2, "LAMP-1": 4}, 16)


def test_a_line_removed_since_that_the_person_left_alone_stays_removed(ada, sam, order):
    sams_page, adas_page = opened(sam, order), opened(ada, order)
    save(ada, order, adas_page, **{f"items-{line(adas_page, 'LAMP-1')}-DELETE": "on"})

    response = save(sam, order, sams_page, **{f"items-{line(sams_page, 'MUG-1')}-quantity": "3"})

    assert response.redirect_chain, response.context["adminform"].form.errors
    assert quantities(order) == {"MUG-1": 3}
    assert has_message(response, "Ada deleted order line “1 x Lamp (LAMP-1)” at ")


def test_a_paid_order_shows_the_comparison_before_asking_for_any_money(
    ada, sam, products, make_customer, gateway
):
    mug, lamp = products
    paid = order_place(customer=make_customer(), lines={mug: 2, lamp: 1})  # charged 54.00
    sams_page, adas_page = opened(sam, paid), opened(ada, paid)
    index = line(sams_page, "MUG-1")
    asked = ada.post(url(paid), form_data(adas_page, **{f"items-{index}-quantity": "3"}))
    confirmed = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', asked.content.decode())
    )
    ada.post(url(paid), confirmed, follow=True)  # Ada confirms the extra 10.80
    assert quantities(paid) == {"MUG-1": 3, "LAMP-1": 1}

    response = save(sam, paid, sams_page, **{f"items-{index}-quantity": "5"})

    assert "admin/orders/order/confirm_edit.html" not in [t.name for t in response.templates]
    assert conflict_rows(response)[0][1:5] == ("quantity", "2", "3", "5")
    assert gateway.charges == [Decimal("54.00"), Decimal("10.80")]
    assert quantities(paid) == {"MUG-1": 3, "LAMP-1": 1}


def test_two_people_changing_different_fields_of_a_customer_keep_both(ada, sam, customer):
    sams_page, adas_page = sam.get(url(customer)), ada.get(url(customer))
    save(ada, customer, adas_page, phone="555-0199")

    response = save(sam, customer, sams_page, default_shipping_address="1 Navy Yard\nArlington")

    customer.refresh_from_db()
    assert (customer.phone, customer.default_shipping_address) == ("555-0199", "1 Navy Yard\nArlington")
    assert has_message(response, "Ada changed the phone at ")
    assert has_message(response, "your new default shipping address was applied to Ada's version.")
    newest = customer.history.first()
    assert newest.history_change_reason == "Edited in the admin (default_shipping_address)"


def test_two_people_changing_the_same_e_mail_see_both_and_nothing_is_saved(ada, sam, customer):
    sams_page, adas_page = sam.get(url(customer)), ada.get(url(customer))
    save(ada, customer, adas_page, email="grace@navy.example")

    response = save(sam, customer, sams_page, email="hopper@example.com", phone="555-0111")

    clash = response.context["edit_conflict"].clashes[0]
    assert (clash.label, clash.before, clash.theirs, clash.yours, clash.author.who) == (
        "e-mail",
        "grace@example.com",
        "grace@navy.example",
        "hopper@example.com",
        "Ada",
    )
    customer.refresh_from_db()
    assert (customer.email, customer.phone) == ("grace@navy.example", "555-0100")

    done = sam.post(url(customer), form_data(response, **{clash.choice_name: "yours"}), follow=True)

    assert done.redirect_chain
    customer.refresh_from_db()
    assert (customer.email, customer.phone) == ("hopper@example.com", "555-0111")
    assert Customer.objects.count() == 1
