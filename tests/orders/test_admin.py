import re
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from audit.models import AuditEntry
from inventory.models import Product
from orders.models import Customer, Order, OrderItem, OrderNote, OrderStatus, Payment
from orders.services import order_place, order_ship
from tests.admin_helpers import action, has_message, query_count

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


def text_of(response) -> str:
    """The page's words, as a person reads them (no tags, single spaces)."""
    return re.sub(r"\s+", " ", strip_tags(response.content.decode()))


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

    page = text_of(asked)
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
    assert "Customer called about the colour." in text_of(response) and "sam" in text_of(response)


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
    text = text_of(page)
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


def open_dialog(client, url):
    """GET an order action's dialog: (what it says it will do, as text; the form data its confirm
    button posts, with the fingerprint of what was shown)."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    seen = re.search(r'name="seen" value="([^"]*)"', html).group(1)
    return text_of(page), {"_form_submitted": "on", "seen": unescape(seen)}


def test_the_cancel_dialog_says_what_will_happen_and_only_a_post_with_a_reason_cancels(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(price="10.00", stock=10, name="Blue mug", sku="MUG-1")
    order = order_place(customer=make_customer(), lines={mug: 4})
    client = client_for(support_user)
    url = action_url("cancel", order)

    dialog, confirm = open_dialog(client, url)
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
    _, confirm = open_dialog(client, url)

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
    _, confirm = open_dialog(client, url)
    order_line_add(order=order, product=mug, quantity=2)  # another person, meanwhile

    response = client.post(url, {**confirm, "reason": "Customer called"})

    page = text_of(response)
    assert "The order changed while this was open" in page
    assert "32.40 USD goes back to the customer" in page and "3 x Blue mug" in page  # what it does now
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    _, again = open_dialog(client, url)
    client.post(url, {**again, "reason": "Customer called"})
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_an_order_action_its_status_does_not_allow_is_an_error_message(
    client_for, support_user, make_product, make_customer, gateway
):
    order = order_place(customer=make_customer(), lines={make_product(): 1}, charge=False)
    client = client_for(support_user)
    url = action_url("complete", order)  # not offered on the page, posted all the same
    _, confirm = open_dialog(client, url)

    response = client.post(url, confirm, follow=True)
    assert has_message(response, "is awaiting payment and can't become completed")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


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
    assert form.status_code == 200 and "54.00 USD" in text_of(form)
    data = {"reason": "One mug broken", f"quantity_{mug_line.pk}": "1", f"goods_{mug_line.pk}": "restock"}
    for line in order.items.exclude(pk=mug_line.pk):
        data |= {f"quantity_{line.pk}": "0", f"goods_{line.pk}": "kept"}

    review = client.post(url, data)
    page = text_of(review)
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


def test_detail_actions_change_nothing_on_get(client_for, support_user, make_product, make_customer, gateway):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    client = client_for(support_user)
    for name in ("ship", "complete", "cancel", "take_payment", "refund"):
        client.get(action_url(name, order))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert Payment.objects.count() == 1


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

    dialog, confirm = open_dialog(client, action_url("place", draft))
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


def test_bulk_complete_says_what_it_does_and_changes_nothing_until_confirmed(
    client_for, support_user, make_product, make_customer, gateway
):
    mug = make_product(stock=10, price="10.00")
    orders = [order_ship(order=order_place(customer=make_customer(), lines={mug: n})) for n in (1, 2)]
    client = client_for(support_user)

    page = action(client, ORDERS, "bulk_complete", orders, confirm=False)

    assert "Mark 2 orders completed: no money or stock moves." in text_of(page)
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
    assert "21.60 USD" in text_of(page) and set(Order.objects.values_list("status", flat=True)) == {"paid"}
    action(client, ORDERS, "bulk_cancel", orders, apply="1", reason="")
    assert set(Order.objects.values_list("status", flat=True)) == {"paid"}

    done = action(client, ORDERS, "bulk_cancel", orders, apply="1", reason="Fraud")
    assert has_message(done, "2 order(s) cancelled")
    assert set(Order.objects.values_list("status", flat=True)) == {"cancelled"}


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
    assert "3,239.97 USD" in text_of(response)  # the total and what was paid, as money
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
    assert "3,240.00 USD" in text_of(response)


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
