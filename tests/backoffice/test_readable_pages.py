"""Pages say things as people read them: values as the change form shows them, who changed what, what a
button will do, and nothing offered that the record's state forbids."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from inventory.services import product_set_flag, product_update
from orders.services import order_place, order_transition

pytestmark = pytest.mark.django_db


def test_history_names_the_system_and_dates_open_the_version(client_for, superuser, make_product):
    lamp = make_product(name="Brass lamp")  # created by no one: the system
    product_update(product=lamp, data={"price": "12.00"}, user=superuser, reason="Price list")

    html = (
        client_for(superuser).get(reverse("admin:inventory_product_history", args=[lamp.pk])).content.decode()
    )

    assert ">None<" not in html.replace(" ", "").replace("\n", "")
    assert "System" in html
    version = lamp.history.earliest("history_date")
    assert reverse("admin:inventory_product_simple_history", args=[lamp.pk, version.pk]) in html


def test_as_of_shows_values_as_the_form_does(client_for, superuser, make_product, make_category):
    lamp = make_product(name="Brass lamp", category=make_category("Desk lamps"), published=False)
    product_update(product=lamp, data={"metadata": {"colour": "brass"}}, user=superuser, reason="Details")
    url = reverse("admin:inventory_product_as_of", args=[lamp.pk]) + "?when=2000-01-01T00:00"

    response = client_for(superuser).get(url)
    rows = {label: (then, now) for label, then, now in response.context["rows"]}

    assert "Tenant" not in rows and "Shop" not in rows
    assert rows["Published"][1] == "No"
    assert "Desk lamps" in rows["Category"][1] and "/admin/inventory/category/" in rows["Category"][1]
    assert "&quot;colour&quot;: &quot;brass&quot;" in rows["Metadata"][1]  # laid out, escaped
    assert "data-highlighted" in response.content.decode()  # rows that differ from then


def test_the_undo_page_lists_the_records_it_will_change(client_for, ops_user, make_product):
    lamps = [make_product(name=f"Lamp {n}", published=False) for n in range(2)]
    change_set = product_set_flag(products=[p.pk for p in lamps], flag="publish", user=ops_user)

    response = client_for(ops_user).get(reverse("admin:audit_changeset_undo", args=[change_set.pk]))

    assert sorted(label for label, _, _ in response.context["touched"]) == sorted(str(p) for p in lamps)
    html = response.content.decode()
    assert "Put back as it was before" in html
    assert html.count('id="undo-records"') == 1 and 'value="undo"' in html  # listed once, then the button


def test_change_set_records_use_field_labels(client_for, ops_user, make_product):
    lamp = make_product(published=False)
    change_set = product_set_flag(products=[lamp.pk], flag="publish", user=ops_user)

    response = client_for(ops_user).get(reverse("admin:audit_changeset_change", args=[change_set.pk]))

    assert response.context["records"][0][1] == [("Published", "No", "Yes")]


def test_a_refunded_order_offers_no_save_and_refuses_one(
    client_for, support_user, make_product, make_customer
):
    order = order_place(customer=make_customer(), lines={make_product(): 1})
    order_transition(to="refunded", order=order, reason="Returned unused")
    client = client_for(support_user)
    url = reverse("admin:orders_order_change", args=[order.pk])

    html = client.get(url).content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert 'name="shipping_address"' not in html  # shown, not offered for typing

    response = client.post(url, {"shipping_address": "Elsewhere 1"}, follow=True)
    order.refresh_from_db()
    assert order.shipping_address != "Elsewhere 1"
    assert "Nothing was saved" in response.content.decode()


def test_orders_are_found_by_the_start_of_a_customers_email(
    client_for, support_user, make_product, make_customer
):
    ada = make_customer(name="Ada Rossi", email="ada.rossi.17@example.com")
    order = order_place(customer=ada, lines={make_product(): 1})
    client = client_for(support_user)

    orders = (
        client.get(reverse("admin:orders_order_changelist"), {"q": "ada.rossi"}).context["cl"].result_list
    )
    customers = client.get(reverse("admin:orders_customer_changelist"), {"q": "ada.rossi"}).context["cl"]

    assert list(orders) == [order]
    assert list(customers.result_list) == [ada]


def test_error_pages_wear_the_admins_look_without_inline_scripts(client_for, auditor):
    from django.views.defaults import server_error

    client = client_for(auditor)
    pages = {
        404: client.get("/admin/inventory/product/999999/change/").content.decode(),
        403: client.get(reverse("admin:inventory_product_add")).content.decode(),
        500: server_error(RequestFactory().get("/admin/")).content.decode(),
    }
    for status, html in pages.items():
        assert 'id="error-page"' in html, status
        assert "unfold/css/styles.css" in html, status
        assert "<script>" not in html, status  # every script has a src: the CSP forbids inline ones


def test_the_stock_ledger_tab_names_the_product_and_signs_changes(client_for, ops_user, make_product):
    from inventory.services import stock_adjust

    lamp = make_product(name="Brass lamp", stock=5)
    stock_adjust(product=lamp, quantity=-3, reason="Damaged", user=ops_user)

    html = (
        client_for(ops_user).get(reverse("admin:inventory_product_change", args=[lamp.pk])).content.decode()
    )

    assert "-3 adjustment of Brass lamp" in html
    assert str(lamp.pk) + "</" not in html  # no id where the product's name belongs


def test_the_bulk_stock_page_has_a_heading(client_for, ops_user, make_product):
    lamp = make_product()
    response = client_for(ops_user).post(
        reverse("admin:inventory_product_changelist"),
        {"action": "adjust_stock_selected", "_selected_action": [lamp.pk]},
    )
    assert 'id="page-heading"' in response.content.decode()
    assert "Adjust stock of selected products" in response.content.decode()


def test_amounts_are_grouped_in_lists_forms_and_history(client_for, superuser, make_product, make_customer):
    lamp = make_product(name="Brass lamp", price="1102.08")
    product_update(product=lamp, data={"price": "2204.16"}, user=superuser, reason="Price list")
    order = order_place(customer=make_customer(), lines={lamp: 1})
    client = client_for(superuser)

    product_list = client.get(reverse("admin:inventory_product_changelist")).content.decode()
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    history = client.get(reverse("admin:inventory_product_history", args=[lamp.pk])).content.decode()

    assert "2,204.16" in product_list and "2204.16" not in product_list
    assert "2,204.16" in order_page  # the line's unit price, the subtotal
    assert "1,102.08" in history and "2,204.16" in history


def test_on_a_phone_a_list_keeps_the_name_and_the_state_badges(client_for, ops_user, make_product):
    make_product(name="Brass lamp")

    html = client_for(ops_user).get(reverse("admin:inventory_product_changelist")).content.decode()
    style = html[html.index("@media (max-width: 767px)") :].split("</style>")[0]

    for hidden in ("sku", "category", "price_money", "featured_badge"):
        assert f".field-{hidden}" in style and f".column-{hidden}" in style
    for kept in ("name", "stock_badge", "published_badge", "action_checkbox"):
        assert f"-{kept}," not in style and f"-{kept} " not in style


def test_who_may_only_read_a_users_page_sees_no_password_hash(client_for, auditor, ops_user):
    html = client_for(auditor).get(reverse("admin:auth_user_change", args=[ops_user.pk])).content.decode()

    assert ops_user.username in html
    assert ops_user.password not in html
    assert ops_user.password.split("$")[-1] not in html


def test_product_images_show_as_previews_in_the_order_people_drag_them(client_for, ops_user, make_product):
    from inventory.models import ProductImage
    from inventory.services import product_image_save

    lamp = make_product(name="Brass lamp")
    for position, name in enumerate(["front", "side"]):
        product_image_save(
            image=ProductImage(
                product=lamp, url=f"https://img.example.com/{name}.jpg", alt_text=name, position=position
            )
        )

    page = client_for(ops_user).get(reverse("admin:inventory_product_change", args=[lamp.pk]))
    html = page.content.decode()

    assert html.index('src="https://img.example.com/front.jpg"') < html.index(
        "https://img.example.com/side.jpg"
    )
    assert 'alt="front" class="bo-thumbnail"' in html
    assert "x-sort" in html  # Unfold's sortable inline: rows are dragged, their position written for them
