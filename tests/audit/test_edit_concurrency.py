"""Two people saving the same record at the same instant, on PostgreSQL with two connections: the
check runs under the row lock, so one save wins and the other gets the comparison (or merges on top),
never both passing it on what they read before the other committed."""

import threading
from decimal import Decimal

import pytest
from django.urls import reverse

import inventory.services
import orders.services.edits
from backoffice.roles import OPERATIONS, SUPPORT
from inventory.admin import ProductAdmin
from inventory.models import Product, ProductImage
from orders.admin_records import CustomerAdmin
from orders.services import order_place
from tests.admin_helpers import form_data, has_message, staff_client
from tests.concurrency_helpers import in_thread, someone_waits_for_a_lock

pytestmark = [pytest.mark.django_db(transaction=True)]


def held_in_its_transaction(monkeypatch, owner, name) -> threading.Event:
    """Make ``owner.name`` (a service an admin calls) hold the other thread's save after it wrote and
    before it commits, until this thread's save waits for the row lock. Returns the event set then."""
    original, holding = getattr(owner, name), threading.Event()

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.current_thread() is not threading.main_thread():
            holding.set()
            someone_waits_for_a_lock()
        return result

    monkeypatch.setattr(owner, name, staticmethod(held) if isinstance(owner, type) else held)
    return holding


def change_url(record):
    return reverse(f"admin:{record._meta.app_label}_{record._meta.model_name}_change", args=[record.pk])


def race(holding, first_client, first_data, second_client, second_data, record):
    """The first save runs on its own connection and is held before it commits; the second starts
    then, and waits for the row lock. Returns both responses. (The first doesn't follow its redirect:
    the test client records every template rendered while a request runs, in any thread.)"""
    results = []
    url = change_url(record)
    first = in_thread(lambda: first_client.post(url, first_data), results)
    assert holding.wait(15), results
    second = second_client.post(url, second_data, follow=True)
    first.join(30)
    assert len(results) == 1 and not isinstance(results[0], BaseException), results
    return results[0], second


@pytest.fixture
def people(roles):
    perms = ["inventory.delete_productimage"]
    return (
        staff_client("ada.ops", first_name="Ada", role=OPERATIONS, perms=perms),
        staff_client("olivia", role=OPERATIONS, perms=perms),
    )


@pytest.fixture
def lamp(make_product):
    product = make_product(name="Lamp", sku="LAMP-1", price="10.00")
    ProductImage.objects.create(product=product, url="https://example.com/front.jpg", alt_text="Front")
    return product


def opened(client, record, **changes):
    return form_data(client.get(change_url(record)), **changes)


def test_the_same_price_at_the_same_instant_one_wins_and_the_other_sees_both(monkeypatch, people, lamp):
    ada, olivia = people
    adas, olivias = opened(ada, lamp, price="12.00"), opened(olivia, lamp, price="15.00")
    holding = held_in_its_transaction(monkeypatch, ProductAdmin, "update_service")

    first, second = race(holding, ada, adas, olivia, olivias, lamp)

    assert first.status_code == 302
    clash = second.context["edit_conflict"].clashes[0]
    assert (clash.label, clash.before, clash.theirs, clash.yours, clash.author.who) == (
        "price",
        "10.00",
        "12.00",
        "15.00",
        "Ada",
    )
    assert Product.objects.get(pk=lamp.pk).price == Decimal("12.00")
    assert [row.history_user.username for row in lamp.history.all()[:1]] == ["ada.ops"]


def test_a_rename_and_a_price_at_the_same_instant_both_stay(monkeypatch, people, lamp):
    ada, olivia = people
    adas, olivias = opened(ada, lamp, price="12.00"), opened(olivia, lamp, name="Desk lamp")
    holding = held_in_its_transaction(monkeypatch, ProductAdmin, "update_service")

    first, second = race(holding, ada, adas, olivia, olivias, lamp)

    assert first.status_code == 302 and second.redirect_chain
    assert has_message(second, "Ada changed the price at ")
    lamp.refresh_from_db()
    assert (lamp.name, lamp.price) == ("Desk lamp", Decimal("12.00"))


def test_the_same_image_at_the_same_instant_one_wins_and_the_other_sees_both(monkeypatch, people, lamp):
    ada, olivia = people
    adas = opened(ada, lamp, **{"images-0-alt_text": "Front view"})
    olivias = opened(olivia, lamp, **{"images-0-alt_text": "The front", "name": "Desk lamp"})
    holding = held_in_its_transaction(monkeypatch, inventory.services, "product_images_save")

    first, second = race(holding, ada, adas, olivia, olivias, lamp)

    assert first.status_code == 302
    clash = second.context["edit_conflict"].clashes[0]
    assert (clash.record, clash.theirs, clash.yours) == (
        "product image “Front view”",
        "Front view",
        "The front",
    )
    assert lamp.images.get().alt_text == "Front view"
    assert Product.objects.get(pk=lamp.pk).name == "Lamp"  # nothing of the second save


def test_the_same_customer_at_the_same_instant_one_wins_and_the_other_sees_both(
    monkeypatch, roles, make_customer
):
    ada = staff_client("ada.support", first_name="Ada", role=SUPPORT)
    sam = staff_client("sam", role=SUPPORT)
    grace = make_customer(name="Grace Hopper", email="grace@example.com")
    adas = opened(ada, grace, email="grace@navy.example")
    sams = opened(sam, grace, email="hopper@example.com", phone="555-0111")
    holding = held_in_its_transaction(monkeypatch, CustomerAdmin, "update_service")

    first, second = race(holding, ada, adas, sam, sams, grace)

    assert first.status_code == 302
    clash = second.context["edit_conflict"].clashes[0]
    assert (clash.label, clash.theirs, clash.yours) == ("e-mail", "grace@navy.example", "hopper@example.com")
    grace.refresh_from_db()
    assert (grace.email, grace.phone) == ("grace@navy.example", "")


def test_the_same_order_line_at_the_same_instant_one_wins_and_the_other_sees_both(
    monkeypatch, roles, make_product, make_customer
):
    ada = staff_client("ada.support", first_name="Ada", role=SUPPORT)
    sam = staff_client("sam", role=SUPPORT)
    mug = make_product(name="Blue mug", sku="MUG-1", price="10.00", stock=20)
    order = order_place(customer=make_customer(), lines={mug: 2}, charge=False)
    adas, sams = (
        opened(ada, order, **{"items-0-quantity": "3"}),
        opened(sam, order, **{"items-0-quantity": "5"}),
    )
    holding = held_in_its_transaction(monkeypatch, orders.services.edits, "_write_plan")

    first, second = race(holding, ada, adas, sam, sams, order)

    assert first.status_code == 302
    clash = second.context["edit_conflict"].clashes[0]
    assert (clash.label, clash.before, clash.theirs, clash.yours) == ("quantity", "2", "3", "5")
    assert order.items.get().quantity == 3
    assert Product.objects.get(pk=mug.pk).stock == 17  # only Ada's unit taken
