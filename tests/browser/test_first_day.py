"""What a person notices on a first day, in Chromium: the command palette finds records, the stock dialog
says what it will do, the login page is ready to type in, filters show as chips."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from orders.services import order_place

from .conftest import log_in_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_login_page_is_ready_for_the_username(page, production_server, superuser):
    page.goto(production_server + "/admin/login/")
    expect(page.locator("input[name=username]")).to_be_focused()
    page.keyboard.type("boss")
    expect(page.locator("input[name=username]")).to_have_value("boss")


def test_ctrl_k_finds_a_product_by_sku_an_order_by_number_and_a_customer_by_email(
    page, production_server, superuser, make_product, make_customer
):
    lamp = make_product(name="Brass desk lamp", sku="LAMP-042")
    ada = make_customer(name="Ada Rossi", email="ada.rossi@example.com")
    order = order_place(customer=ada, lines={lamp: 1})
    log_in_at(page, production_server, "boss", "pw-boss")

    searches = [("LAMP-042", "Brass desk lamp"), (order.number, order.number), ("ada.rossi", "Ada Rossi")]
    for term, found in searches:
        page.keyboard.press("Control+k")
        search = page.locator("#search-input-command")
        expect(search).to_be_visible()
        # The palette searches when a key is released: the whole term, then one key, sends one search
        # (typing key by key sends several, and a late answer arriving after Escape is an htmx error).
        search.fill(term)
        search.press("End")
        results = page.locator("#command-results")
        expect(results).to_contain_text(found, timeout=10_000)
        page.keyboard.press("Escape")
    assert page.console_errors == []


def test_the_stock_dialog_shows_the_stock_now_and_after_and_offers_reasons(
    page, production_server, ops_user, make_product
):
    lamp = make_product(name="Brass desk lamp", stock=12)
    log_in_at(page, production_server, "olivia", "pw-olivia")
    page.goto(production_server + f"/admin/inventory/product/{lamp.pk}/change/")
    page.get_by_role("link", name=re.compile("Adjust stock")).click()

    preview = page.locator("#stock-preview")
    expect(preview).to_contain_text("In stock now: 12")
    page.fill("input[name=quantity]", "-5")
    expect(preview.locator("[data-stock-after]")).to_have_text("7")
    page.get_by_label("Damaged").check()
    page.fill("input[name=reason]", "dropped on delivery")
    page.locator("#dialog button[type=submit]").click()

    expect(page.locator("body")).to_contain_text("Stock of Brass desk lamp changed by -5 to 7.")
    movement = Product.objects.get(pk=lamp.pk).movements.first()
    assert movement.reason == "Damaged: dropped on delivery"
    expect(page.locator("body")).to_contain_text("-5 adjustment of Brass desk lamp")  # the ledger tab
    assert page.console_errors == []


def test_active_filters_show_as_chips_that_remove_them(page, production_server, ops_user, make_product):
    make_product(name="Draft lamp", published=False)
    make_product(name="Live lamp", published=True)
    log_in_at(page, production_server, "olivia", "pw-olivia")
    page.goto(production_server + "/admin/inventory/product/?is_published__exact=0")

    chips = page.locator("#filter-chips")
    expect(chips).to_contain_text("Published: No", ignore_case=True)
    expect(page.locator("#result_list")).not_to_contain_text("Live lamp")
    chips.get_by_title("Remove this filter").click()
    expect(page.locator("#filter-chips")).to_have_count(0)
    expect(page.locator("#result_list")).to_contain_text("Live lamp")
