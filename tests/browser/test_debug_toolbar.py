"""The demo runs with the debug toolbar on every page: it must never break a page, nor cover one."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from orders.services import order_place

from .conftest import log_in_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_main_pages_and_an_import_work_with_the_toolbar_collapsed(
    page, development_server, superuser, make_product, make_customer, make_category, tmp_path
):
    make_category("Phones")
    mug = make_product(name="Blue mug", stock=20)
    order = order_place(customer=make_customer(), lines={mug: 2})
    server = development_server
    log_in_at(page, server, "boss", "pw-boss")

    # The toolbar is there, folded to its handle: the dashboard's cards are not covered.
    expect(page.locator("#djDebugToolbarHandle")).to_be_visible()
    expect(page.locator("#djDebugToolbar")).to_be_hidden()

    for path in [
        "/admin/",
        "/admin/inventory/product/",
        f"/admin/inventory/product/{mug.pk}/change/",
        f"/admin/inventory/product/{mug.pk}/history/",
        "/admin/inventory/category/",
        "/admin/inventory/stockmovement/",
        "/admin/orders/order/",
        f"/admin/orders/order/{order.pk}/change/",
        "/admin/orders/customer/",
        "/admin/audit/auditentry/",
        "/admin/audit/changeset/",
    ]:
        response = page.goto(server + path)
        assert response.status == 200, f"{path} answered {response.status}"
        expect(page.locator("#djDebugToolbarHandle")).to_be_attached()

    # An import, preview then confirm, with the toolbar's SQL panel recording every query.
    upload = tmp_path / "supplier.csv"
    upload.write_text("sku,name,category,price,stock\nPH-1,Pocket phone,phones,199.00,5\n")
    page.goto(server + "/admin/inventory/product/import/")
    page.set_input_files("input[name=import_file]", str(upload))
    page.select_option("select[name=format]", index=1)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("body")).to_contain_text("1 new")
    page.get_by_role("button", name=re.compile("Confirm", re.IGNORECASE)).click()
    expect(page.locator("body")).to_contain_text("Imported supplier.csv: 1 new")
    assert Product.objects.get(sku="PH-1").stock == 5
