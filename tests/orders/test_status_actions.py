"""An order's actions in the admin: each dialog or page says what it does to money and stock, changes
nothing on a GET or without the CSRF token, refuses a confirmation for an order that changed while it
was open, and refuses what the order's status doesn't allow; the list's bulk actions confirm first."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from inventory.models import Product
from orders.models import Order, OrderStatus, Payment
from orders.services import order_place, order_ship
from tests.admin_helpers import action, dialog_confirmation, has_message, page_text

pytestmark = pytest.mark.django_db
ORDERS = reverse("admin:orders_order_changelist")


def action_url(name, order):
    return reverse(f"admin:orders_order_{name}", args=[order.pk])


def test_the_cancel_dialog_says_what_will_happen_and_only_a_post_with_a_reason_cancels(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10, name="Blue mug", sku="MUG-1")
    order = order_place(customer=make_customer(), lines={mug: 4})
    client = client_for(support_user)
    url = action_url("cancel", order)

    dialog, confirm = dialog_confirmation(client, url)
    assert "43.20 USD goes back to the customer" in dialog and "4 x Blue mug (MUG-1)" in dialog
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID and gateway.refunds == []

    without_reason = client.post(url, {**confirm, "reason": ""})
    assert "Say why the order is cancelled." in without_reason.content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID

    response = client.post(url, {**confirm, "reason": "Customer called"}, follow=True)
    assert has_message(response, f"Order {order.number} cancelled: 43.20 USD refunded, its stock returned.")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=mug.pk).stock == 10 and gateway.refunds == [Decimal("43.20")]


@pytest.mark.parametrize("button", ["place", "take_payment", "ship", "complete", "cancel", "refund"])
def test_an_order_action_opened_with_get_changes_nothing(
    client_for, support_user, make_product, make_customer, gateway, button
):
    from orders.services import order_draft_create

    mug = make_product(stock=10)
    if button == "place":
        order = order_draft_create(customer=make_customer(), lines={mug: 3})
    else:
        order = order_place(customer=make_customer(), lines={mug: 3}, charge=button != "take_payment")
    if button == "complete":
        order_ship(order=order)
    before = (Order.objects.get(pk=order.pk).status, Product.objects.get(pk=mug.pk).stock)
    charges = list(gateway.charges)
    client = client_for(support_user)

    response = client.get(action_url(button, order) + "?_form_submitted=on&reason=x&payment=charge&seen=x")

    assert response.status_code == 200
    assert (Order.objects.get(pk=order.pk).status, Product.objects.get(pk=mug.pk).stock) == before
    assert gateway.charges == charges and gateway.refunds == []


def test_an_order_action_needs_the_csrf_token(client_for, support_user, make_product, make_customer, gateway):
    from django.test import Client

    order = order_place(customer=make_customer(), lines={make_product(): 1})
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_user)
    url = action_url("cancel", order)
    _, confirm = dialog_confirmation(client, url)

    assert client.post(url, {**confirm, "reason": "Fraud"}).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID and gateway.refunds == []


def test_a_confirmation_for_an_order_that_changed_meanwhile_is_refused_and_says_what_it_does_now(
    client_for, support_user, make_product, make_customer, gateway
):
    from orders.services import order_line_add

    mug = make_product(stock=10, price="10.00", name="Blue mug")
    order = order_place(customer=make_customer(), lines={mug: 1})
    client = client_for(support_user)
    url = action_url("cancel", order)
    _, confirm = dialog_confirmation(client, url)
    order_line_add(order=order, product=mug, quantity=2)  # another person, meanwhile

    response = client.post(url, {**confirm, "reason": "Customer called"})

    page = page_text(response)
    assert "The order changed while this was open" in page
    assert "32.40 USD goes back to the customer" in page and "3 x Blue mug" in page  # what it does now
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    _, again = dialog_confirmation(client, url)
    client.post(url, {**again, "reason": "Customer called"})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_an_order_action_its_status_does_not_allow_is_an_error_message(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
    client = client_for(support_user)
    url = action_url("complete", order)  # not offered on the page, posted all the same
    _, confirm = dialog_confirmation(client, url)

    response = client.post(url, confirm, follow=True)
    assert has_message(response, "is awaiting payment and can't become completed")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_detail_actions_change_nothing_on_get(client_for, support_user, make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    client = client_for(support_user)
    for name in ("ship", "complete", "cancel", "take_payment", "refund"):
        client.get(action_url(name, order))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert Payment.objects.count() == 1


def test_bulk_complete_says_what_it_does_and_changes_nothing_until_confirmed(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10, price="10.00")
    orders = [order_ship(order=order_place(customer=make_customer(), lines={mug: n})) for n in (1, 2)]
    client = client_for(support_user)

    page = action(client, ORDERS, "bulk_complete", orders, confirm=False)

    assert "Mark 2 orders completed: no money or stock moves." in page_text(page)
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.SHIPPED}
    done = action(client, ORDERS, "bulk_complete", orders)
    assert has_message(done, "2 order(s) completed.")
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.COMPLETED}


def test_bulk_ship_lists_the_orders_that_cannot_be_shipped_and_offers_no_confirm(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10)
    paid = order_place(customer=make_customer(), lines={mug: 1})
    pending = order_place(customer=make_customer(), lines={mug: 1}, charge=False)

    page = action(client_for(support_user), ORDERS, "bulk_ship", [paid, pending]).content.decode()

    assert f"{pending.number} (awaiting payment)" in page and "Nothing can change while" in page
    form = page[page.index('name="confirm"') :]
    assert 'type="submit"' not in form[: form.index("</form>")]  # no Confirm: all or nothing
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID, OrderStatus.PENDING}


def test_bulk_ship_from_the_list(client_for, support_user, make_product, make_customer, gateway):
    mug = make_product(stock=10)
    orders = [order_place(customer=make_customer(), lines={mug: 1}) for _ in range(2)]
    response = action(client_for(support_user), ORDERS, "bulk_ship", orders)
    assert has_message(response, "2 order(s) marked shipped.")
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.SHIPPED}


def test_bulk_cancel_shows_what_it_gives_back_and_needs_a_reason(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    orders = [order_place(customer=make_customer(), lines={mug: 1}) for _ in range(2)]
    client = client_for(support_user)

    page = action(client, ORDERS, "bulk_cancel", orders)
    assert "21.60 USD" in page_text(page) and set(Order.objects.values_list("status", flat=True)) == {"paid"}
    action(client, ORDERS, "bulk_cancel", orders, apply="1", reason="")
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}

    done = action(client, ORDERS, "bulk_cancel", orders, apply="1", reason="Fraud")
    assert has_message(done, "2 order(s) cancelled")
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}


def test_bulk_cancel_of_more_orders_than_one_batch_takes_cancels_none(
    client_for, support_user, make_product, make_customer, gateway, monkeypatch
):
    monkeypatch.setattr("orders.admin_money.BULK_CANCEL_LIMIT", 2)
    mug = make_product(price="10.00", stock=10)
    orders = [order_place(customer=make_customer(), lines={mug: 1}) for _ in range(3)]

    done = action(client_for(support_user), ORDERS, "bulk_cancel", orders, apply="1", reason="Fraud")
    assert has_message(done, "Nothing was cancelled: select at most 2 orders to cancel at once.")
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}


def test_refund_page_reviews_then_confirms_a_partial_refund_with_a_return(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10, name="Blue mug", sku="MUG-1")
    lamp = make_product(price="30.00", stock=10, name="Desk lamp", sku="LAMP-1")
    order = order_place(customer=make_customer(), lines={mug: 2, lamp: 1})
    order_ship(order=order)
    mug_line = order.items.get(product=mug)
    client = client_for(support_user)
    url = action_url("refund", order)

    form = client.get(url)
    assert form.status_code == 200 and "54.00 USD" in page_text(form)
    data = {"reason": "One mug broken", f"quantity_{mug_line.pk}": "1", f"goods_{mug_line.pk}": "restock"}
    for line in order.items.exclude(pk=mug_line.pk):
        data |= {f"quantity_{line.pk}": "0", f"goods_{line.pk}": "kept"}

    review = client.post(url, data)
    page = page_text(review)
    charge = Payment.objects.get(kind="charge")
    assert "10.80 USD goes back to the customer" in page  # the value of the line, tax included
    assert f"10.80 USD to charge {charge.gateway_reference}" in page
    assert "1 x Blue mug: back to stock" in page and "partially refunded" in page
    assert not Payment.objects.filter(kind="refund").exists()  # reviewing did nothing

    confirm = re.search(r'name="confirm" value="([^"]+)"', review.content.decode()).group(1)
    done = client.post(url, {**data, "confirm": confirm}, follow=True)

    assert has_message(done, f"10.80 USD refunded on {order.number}; 1 unit(s) back to stock.")
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.total == Decimal("43.20")
    assert Product.objects.get(pk=mug.pk).stock == 9


def test_support_takes_an_order_by_phone_as_a_draft_then_places_it(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=5, name="Blue mug", sku="MUG-1")
    customer = make_customer(name="Ada Lovelace")
    client = client_for(support_user)
    assert client.get(reverse("admin:orders_order_add")).status_code == 200

    data = {
        "customer": str(customer.pk),
        "shipping_address": "",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-product": str(mug.pk),
        "items-0-quantity": "2",
    }
    response = client.post(reverse("admin:orders_order_add"), data, follow=True)

    draft = Order.objects.get()
    assert draft.status == OrderStatus.DRAFT and draft.total == Decimal("21.60")
    assert draft.shipping_address == customer.default_shipping_address
    assert has_message(response, f"Draft {draft.number} saved: place it when it is ready.")
    assert Product.objects.get(pk=mug.pk).stock == 5

    dialog, confirm = dialog_confirmation(client, action_url("place", draft))
    assert "2 x Blue mug (MUG-1) — 5 in stock" in dialog and "21.60 USD" in dialog
    placed = client.post(action_url("place", draft), {**confirm, "payment": "charge"}, follow=True)

    assert has_message(placed, f"Order {draft.number} placed: the customer was charged 21.60 USD.")
    assert Order.objects.get().status == OrderStatus.PAID and Product.objects.get(pk=mug.pk).stock == 3


def test_the_product_picker_shows_stock_and_price(client_for, support_user, make_product, gateway):
    make_product(price="1234.50", stock=7, name="Grand lamp", sku="LAMP-G")
    make_product(name="Hidden lamp", published=False)
    client = client_for(support_user)
    found = client.get(reverse("admin:orders_order_products"), {"term": "lamp"}).json()
    assert [r["text"] for r in found["results"]] == ["Grand lamp (LAMP-G) · 7 in stock · 1,234.50 USD"]
    assert found["results"][0]["price"] == "1234.50"
    prices = client.get(
        reverse("admin:orders_order_product_prices"), {"id": [found["results"][0]["id"]]}
    ).json()
    assert prices == {found["results"][0]["id"]: {"price": "1234.50", "stock": 7}}
