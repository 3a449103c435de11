import re
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from inventory.models import Product
from orders.models import Customer, Order, OrderItem, OrderNote, OrderStatus, Payment
from orders.services import order_place, order_ship
from tests.admin_helpers import has_message, page_text, query_count

pytestmark = pytest.mark.django_db
ORDERS = reverse("admin:orders_order_changelist")


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def action_url(name, order):
    return reverse(f"admin:orders_order_{name}", args=[order.pk])


def order_form_data(order, lines, **extra):
    """The POST a browser sends for the order page: ``lines`` maps an existing line (or a label for a
    new one) to (product, quantity, delete?). Existing lines come first, as on the page."""
    data = {
        "shipping_address": order.shipping_address.replace("\n", "\r\n"),  # as a browser sends it
        "items-TOTAL_FORMS": str(len(lines)),
        "items-INITIAL_FORMS": str(sum(1 for line in lines if isinstance(line, OrderItem))),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    if order.status == OrderStatus.DRAFT:
        data["customer"] = str(order.customer_id)
    for index, (line, (product, quantity, delete)) in enumerate(lines.items()):
        prefix = f"items-{index}-"
        data[prefix + "product"] = str(product.pk)
        data[prefix + "quantity"] = str(quantity)
        data[prefix + "order"] = str(order.pk)
        if isinstance(line, OrderItem):
            data[prefix + "id"] = str(line.pk)
        if delete:
            data[prefix + "DELETE"] = "on"
    data.update(extra)
    return data


def test_find_an_order_by_number_in_any_form_people_type(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10)
    orders = [order_place(customer=make_customer(), lines={mug: 1}) for _ in range(3)]
    target = orders[1]
    client = client_for(support_user)
    for term in (target.number, target.number.lower(), str(target.pk)):
        found = client.get(ORDERS, {"q": term}).context["cl"].result_list
        assert [o.pk for o in found] == [target.pk], term


def test_find_orders_by_customer_email_or_name(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10)
    ada = make_customer(name="Ada Lovelace", email="ada@example.com")
    order_place(customer=ada, lines={mug: 1})
    order_place(customer=make_customer(name="Bob Stone"), lines={mug: 1})
    client = client_for(support_user)
    assert [o.customer for o in client.get(ORDERS, {"q": "ada@"}).context["cl"].result_list] == [ada]
    assert [o.customer for o in client.get(ORDERS, {"q": "lovelace"}).context["cl"].result_list] == [ada]


def test_an_edit_that_moves_money_asks_first_then_charges_the_amount_shown(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="1000.00", stock=10, name="Blue mug", sku="MUG-1")
    order = order_place(customer=make_customer(), lines={mug: 2})  # 2,160.00
    line = order.items.get()
    client = client_for(support_user)

    asked = client.post(change_url(order), order_form_data(order, {line: (mug, 5, False)}))

    page = page_text(asked)
    assert "The customer will be charged 3,240.00 USD more." in page
    assert "Blue mug (MUG-1): 2 → 5" in page
    assert order.items.get().quantity == 2 and gateway.charges == [Decimal("2160.00")]  # nothing yet

    confirmed = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', asked.content.decode())
    )
    response = client.post(change_url(order), confirmed, follow=True)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.items.get().quantity == 5 and order.total == Decimal("5400.00")
    assert gateway.charges == [Decimal("2160.00"), Decimal("3240.00")]
    assert Product.objects.get(pk=mug.pk).stock == 5
    edit_entry = AuditEntry.objects.get(
        content_type__model="order", object_id=str(order.pk), reason=f"Order {order.number} edited"
    )
    assert set(edit_entry.changed_fields) == {"subtotal", "tax", "total"}  # "What changed" says it


def test_a_confirmation_for_another_amount_than_the_edit_now_moves_saves_nothing(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    data = order_form_data(order, {order.items.get(): (mug, 5, False)}, _confirmed_difference="1.00")
    response = client_for(support_user).post(change_url(order), data, follow=True)
    assert has_message(response, "changed meanwhile: the edit now moves 32.40, not 1.00")
    assert order.items.get().quantity == 2


def test_lines_of_an_order_awaiting_payment_change_without_asking(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10)
    lamp = make_product(price="30.00", stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2}, charge=False)
    line = order.items.get()

    data = order_form_data(order, {line: (mug, 2, True), "new": (lamp, 1, False)})
    client_for(support_user).post(change_url(order), data, follow=True)

    order.refresh_from_db()
    assert list(order.items.values_list("product_id", "quantity")) == [(lamp.pk, 1)]
    assert order.total == Decimal("32.40") and gateway.charges == []
    assert Product.objects.get(pk=mug.pk).stock == 10 and Product.objects.get(pk=lamp.pk).stock == 9


def test_asking_for_more_than_is_in_stock_shows_the_error_and_saves_nothing(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=3, name="Mug", sku="MUG-9")
    order = order_place(customer=make_customer(), lines={mug: 2})
    client = client_for(support_user)

    response = client.post(change_url(order), order_form_data(order, {order.items.get(): (mug, 9, False)}))

    assert response.status_code == 200  # the form again, with the error
    assert "Not enough stock for Mug (MUG-9): 1 available, 7 more requested." in response.content.decode()
    order.refresh_from_db()
    assert order.items.get().quantity == 2 and Product.objects.get(pk=mug.pk).stock == 1


def test_saving_an_unchanged_address_logs_nothing(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    before = AuditEntry.objects.count()
    response = client_for(support_user).post(change_url(order), order_form_data(order, {}), follow=True)
    assert response.status_code == 200
    assert AuditEntry.objects.count() == before  # the browser's CRLF line endings are no change
    assert not order.history.filter(history_change_reason__contains="shipping").exists()


def test_support_adds_a_note_which_logs_no_change_of_the_order(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    client = client_for(support_user)
    before = order.history.count()

    assert client.get(action_url("note", order)).status_code == 405  # no state change on GET
    response = client.post(
        action_url("note", order), {"text": "Customer called about the colour."}, follow=True
    )

    note = OrderNote.objects.get()
    assert (note.author, note.text) == (support_user, "Customer called about the colour.")
    assert order.history.count() == before
    assert "Customer called about the colour." in page_text(response) and "sam" in page_text(response)


def test_the_timeline_tells_the_orders_story_newest_first(
    client_for, support_user, make_product, make_customer, gateway
):
    from orders.services import order_lines_set, order_note_add, order_refund

    mug = make_product(price="10.00", stock=10, name="Blue mug", sku="MUG-1")
    order = order_place(customer=make_customer(), lines={mug: 1}, user=support_user)
    order_lines_set(order=order, quantities={mug: 3}, user=support_user)
    order = order_ship(order=order, user=support_user)
    order_refund(
        order=order,
        amount=Decimal("10.80"),
        reason="Chipped",
        returns={order.items.get().pk: (1, "write_off")},
        user=support_user,
    )
    order_note_add(order=order, text="Sent an apology.", user=support_user)

    page = client_for(support_user).get(change_url(order))
    titles = [event.title for event in page.context["timeline"]]
    assert titles[0] == "Note"
    for expected in ("Placed", "Charged", "Lines edited", "Paid → Shipped", "Refunded", "Goods returned"):
        assert expected in titles
    assert titles.index("Placed") > titles.index("Lines edited") > titles.index("Paid → Shipped")
    refund = next(event for event in page.context["timeline"] if event.title == "Refunded")
    first_charge = [event for event in page.context["timeline"] if event.title == "Charged"][-1]
    assert first_charge.details == ["Order placed"] and "Chipped" in refund.details  # said once each
    text = page_text(page)
    charge = Payment.objects.filter(kind="charge").order_by("created_at").first()
    assert charge.gateway_reference in text and "Blue mug (MUG-1): 1 → 3" in text
    assert "21.60 USD charged" in text and "1 x Blue mug (MUG-1): written off (damaged)" in text


def test_lines_are_read_only_on_a_shipped_order(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10)
    order = order_place(customer=make_customer(), lines={mug: 2})
    order_ship(order=order)
    page = client_for(support_user).get(change_url(order))
    inline = page.context["inline_admin_formsets"][0]
    assert (
        not inline.has_change_permission
        and not inline.has_add_permission
        and not inline.has_delete_permission
    )
    buttons = page_text(page)
    assert "Save and continue editing" not in buttons and "Refund / return" in buttons  # nothing to save
    paid = order_place(customer=make_customer(), lines={mug: 1})
    assert "Save and continue editing" in page_text(client_for(support_user).get(change_url(paid)))


def test_an_order_page_offers_only_the_actions_its_status_allows(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
    client = client_for(support_user)
    names = ["place", "take_payment", "ship", "complete", "cancel", "refund"]

    def offered():
        page = client.get(change_url(order)).content.decode()
        return [n for n in names if action_url(n, order) in page]

    assert offered() == ["take_payment", "cancel"]
    from orders.services import order_pay

    order_pay(order=order)
    assert offered() == ["ship", "cancel", "refund"]
    order_ship(order=order)
    assert offered() == ["complete", "refund"]


def test_orders_cannot_be_deleted_and_only_staff_who_take_orders_add_them(
    client_for, superuser, ops_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    client = client_for(superuser)
    assert client.get(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403
    actions = client.get(ORDERS).context["action_form"].fields["action"].choices
    assert "delete_selected" not in [name for name, _ in actions]
    assert client_for(ops_user).get(reverse("admin:orders_order_add")).status_code == 403


def test_order_list_shows_money_with_constant_queries(
    client_for, support_user, make_product, make_customer, gateway
):
    products = [make_product(stock=1000, price="999.99") for _ in range(4)]
    customers = [make_customer() for _ in range(5)]
    client = client_for(support_user)
    first = order_place(customer=customers[0], lines={products[0]: 2, products[1]: 1})
    for i in range(1, 10):
        order_place(customer=customers[i % 5], lines={products[i % 4]: 2, products[(i + 1) % 4]: 1})
    ten = query_count(client, ORDERS, model=Order, per_page=10)
    for i in range(90):
        order_place(customer=customers[i % 5], lines={products[i % 4]: 1}, charge=i % 2 == 0)
    assert query_count(client, ORDERS, model=Order, per_page=100) == ten

    response = client.get(ORDERS, {"q": first.number})
    (row,) = response.context["cl"].result_list
    assert row.item_count == 3 and row.paid == row.total == Decimal("3239.97")
    assert "3,239.97 USD" in page_text(response)  # the total and what was paid, as money
    assert "bg-blue-100" in response.content.decode()  # "Paid" badge


def test_customer_list_shows_order_count_and_lifetime_value(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="1000.00", stock=100)
    ada = make_customer(name="Ada")
    for _ in range(3):
        order_place(customer=ada, lines={mug: 1})
    order_place(customer=ada, lines={mug: 1}, charge=False)  # awaiting payment: not revenue yet
    url = reverse("admin:orders_customer_changelist")
    client = client_for(support_user)
    few = query_count(client, url, model=Customer, per_page=10)
    for _ in range(30):
        make_customer()
    assert query_count(client, url, model=Customer, per_page=100) == few
    response = client.get(url)
    row = next(c for c in response.context["cl"].result_list if c.pk == ada.pk)
    assert row.order_count == 4 and row.lifetime_value == Decimal("3240.00")
    assert "3,240.00 USD" in page_text(response)


def test_order_lines_and_payments_lists_are_read_only_with_constant_queries(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=1000)
    client = client_for(support_user)
    order_place(customer=make_customer(), lines={mug: 1})
    lines_url, payments_url = (
        reverse("admin:orders_orderitem_changelist"),
        reverse("admin:orders_payment_changelist"),
    )
    few_lines = query_count(client, lines_url, model=OrderItem, per_page=10)
    few_payments = query_count(client, payments_url, model=Payment, per_page=10)
    for _ in range(20):
        order_place(customer=make_customer(), lines={mug: 1, make_product(stock=5): 2})
    assert query_count(client, lines_url, model=OrderItem, per_page=100) == few_lines
    assert query_count(client, payments_url, model=Payment, per_page=100) == few_payments
    line = OrderItem.objects.first()
    assert (
        client.post(reverse("admin:orders_orderitem_change", args=[line.pk]), {"quantity": 9}).status_code
        == 403
    )
    payment = Payment.objects.first()
    assert (
        client.post(reverse("admin:orders_payment_change", args=[payment.pk]), {"amount": 1}).status_code
        == 403
    )
    export = client.get(reverse("admin:orders_payment_export_csv"))
    body = b"".join(export.streaming_content).decode()
    assert ",10.80," in body and "USD" in body  # plain numbers in exports


def test_an_address_edit_goes_through_the_order_service_and_a_shipped_orders_address_stays(
    client_for, support_user, make_product, make_customer, gateway
):
    from orders.services import OrderError, order_update

    order = order_place(customer=make_customer(), lines={make_product(stock=10): 1})
    client = client_for(support_user)
    data = order_form_data(order, {}, shipping_address="1 New Road\r\nTown")

    assert client.post(change_url(order), data).status_code == 302
    order.refresh_from_db()
    edited = order.history.first()
    assert order.shipping_address == "1 New Road\nTown"
    assert (edited.history_change_reason, edited.history_user) == (
        f"Order {order.number}: shipping address changed",
        support_user,
    )

    order_ship(order=order)
    with pytest.raises(OrderError, match="has left: its address can't change"):
        order_update(order=order, data={"shipping_address": "Elsewhere"})
    with pytest.raises(OrderError, match="change through its actions"):
        order_update(order=order, data={"total": "0.00"})
    assert Order.objects.get(pk=order.pk).shipping_address == "1 New Road\nTown"


def test_a_customer_added_in_the_admin_is_saved_by_the_service(client_for, support_user):
    data = {"name": "Ann", "email": "ANN@Example.com ", "phone": "", "default_shipping_address": ""}
    data |= {"orders-TOTAL_FORMS": "0", "orders-INITIAL_FORMS": "0"}

    response = client_for(support_user).post(reverse("admin:orders_customer_add"), data)

    assert response.status_code == 302
    ann = Customer.objects.get()
    assert ann.email == "ann@example.com"
    assert ann.history.get().history_change_reason == "Created in the admin"
