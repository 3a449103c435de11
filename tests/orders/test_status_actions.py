"""An order's status changes in the admin: each button and bulk action says what it does to money and
stock, changes nothing on a GET or without the CSRF token, and refuses what the order can't do."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from inventory.models import Product
from orders.models import Order, OrderStatus
from orders.services import order_place, order_transition
from tests.admin_helpers import action, has_message

pytestmark = pytest.mark.django_db
ORDERS = reverse("admin:orders_order_changelist")


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def open_dialog(client, url):
    """GET a status button's dialog: (the sentence it shows, the form data its Confirm posts)."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    effects = re.search(r'id="transition-effects"[^>]*>([^<]*)<', html).group(1)
    shown = re.search(r'name="effects_shown" value="([^"]*)"', html).group(1)
    return unescape(effects), {"_form_submitted": "on", "effects_shown": unescape(shown)}


def test_cancel_button_says_what_it_does_then_restocks_once_confirmed(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10, price="10.00")
    order = order_place(customer=make_customer(), lines={mug: 4})
    client = client_for(support_user)
    url = reverse("admin:orders_order_cancel", args=[order.pk])

    effects, confirm = open_dialog(client, url)

    assert effects == (
        f"Cancel order {order.number}: give 43.20 USD back to the customer's card "
        "and return 4 units to stock."
    )
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID and gateway.refunds == []
    response = client.post(url, confirm, follow=True)

    assert has_message(response, f"Order {order.number} cancelled; its stock was returned.")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=mug.pk).stock == 10 and gateway.refunds == [Decimal("43.20")]


@pytest.mark.parametrize("button", ["mark_paid", "ship", "complete", "cancel", "refund"])
def test_a_status_button_opened_with_get_changes_nothing(
    client_for, support_user, make_product, make_customer, gateway, button
):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 3}, charge=button != "mark_paid")
    if button == "complete":
        order_transition(to="shipped", order=order)
    before = (Order.objects.get(pk=order.pk).status, Product.objects.get(pk=mug.pk).stock)
    charges = list(gateway.charges)
    client = client_for(support_user)

    url = reverse(f"admin:orders_order_{button}", args=[order.pk])
    response = client.get(url + "?_form_submitted=on&effects_shown=x")

    assert response.status_code == 200 and "transition-effects" in response.content.decode()
    assert (Order.objects.get(pk=order.pk).status, Product.objects.get(pk=mug.pk).stock) == before
    assert gateway.charges == charges and gateway.refunds == []


def test_the_refund_dialog_names_the_money_and_the_units(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(
        customer=make_customer(), lines={make_product(price="50.00"): 2, make_product(price="7.50"): 1}
    )
    effects, _ = open_dialog(client_for(support_user), reverse("admin:orders_order_refund", args=[order.pk]))

    assert effects == (
        f"Refund order {order.number}: give 116.10 USD back to the customer's card "
        "and return 3 units to stock."
    )


def test_a_status_change_needs_the_csrf_token(client_for, support_user, make_product, make_customer, gateway):
    from django.test import Client

    order = order_place(customer=make_customer(), lines={make_product(): 1})
    client = Client(enforce_csrf_checks=True)
    client.force_login(support_user)
    url = reverse("admin:orders_order_refund", args=[order.pk])
    _, confirm = open_dialog(client, url)

    assert client.post(url, confirm).status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID and gateway.refunds == []


def test_a_confirmation_for_an_order_that_changed_meanwhile_is_refused_and_says_what_it_does_now(
    client_for, support_user, make_product, make_customer, gateway
):
    from orders.services import order_lines_set

    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 1})
    client = client_for(support_user)
    url = reverse("admin:orders_order_cancel", args=[order.pk])
    _, confirm = open_dialog(client, url)
    order_lines_set(order=order, quantities={mug: 3})  # another person adds 2, meanwhile

    response = client.post(url, confirm)

    page = response.content.decode()
    assert "The order changed while this was open" in page and "return 3 units to stock" in page
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    _, again = open_dialog(client, url)
    client.post(url, again)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_an_illegal_status_change_from_the_page_is_an_error_message(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
    client = client_for(support_user)
    url = reverse("admin:orders_order_complete", args=[order.pk])
    effects, confirm = open_dialog(client, url)
    assert "is pending and can't become completed" in effects

    response = client.post(url, confirm, follow=True)
    assert has_message(response, "is pending and can't become completed")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


def test_bulk_refund_says_what_it_does_and_changes_nothing_until_confirmed(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10, price="10.00")
    orders = [order_place(customer=make_customer(), lines={mug: n}) for n in (1, 2)]
    client = client_for(support_user)

    page = action(client, ORDERS, "bulk_refund", orders, confirm=False)

    assert "Refund 2 orders: give 32.40 USD back to 2 customer cards and return 3 units to stock." in (
        page.content.decode()
    )
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID} and not gateway.refunds
    done = action(client, ORDERS, "bulk_refund", orders)
    assert has_message(done, "2 order(s) refunded and restocked.")
    assert gateway.refunds == [Decimal("10.80"), Decimal("21.60")]


def test_bulk_ship_lists_the_orders_that_cannot_be_shipped_and_offers_no_confirm(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10)
    paid = order_place(customer=make_customer(), lines={mug: 1})
    pending = order_place(customer=make_customer(), lines={mug: 1}, charge=False)

    page = action(client_for(support_user), ORDERS, "bulk_ship", [paid, pending]).content.decode()

    assert f"{pending.number} (pending)" in page and "Nothing can change while" in page
    form = page[page.index('name="confirm"') :]
    assert 'type="submit"' not in form[: form.index("</form>")]  # no Confirm: all or nothing
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.PAID, OrderStatus.PENDING}


def test_bulk_ship_from_the_list(client_for, support_user, make_product, make_customer, gateway):
    mug = make_product(stock=10)
    orders = [order_place(customer=make_customer(), lines={mug: 1}) for _ in range(2)]
    response = action(client_for(support_user), ORDERS, "bulk_ship", orders)
    assert has_message(response, "2 order(s) marked shipped.")
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.SHIPPED}
