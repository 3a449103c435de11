"""Two support staff editing the same customer: nobody's change is lost. (A customer has no
``updated_at``: the page's version is the values it showed.)"""

import pytest
from django.urls import reverse

from backoffice.roles import SUPPORT
from orders.models import Customer
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


def url(customer):
    return reverse("admin:orders_customer_change", args=[customer.pk])


def save(client, customer, page, **changes):
    return client.post(url(customer), form_data(page, **changes), follow=True)


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
