"""Two people edit the same product at once, each in their own browser, against the production-like
server: a rename and a price change both stay; two prices come back side by side to choose from."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from backoffice.roles import OPERATIONS
from inventory.models import Product
from tests.admin_helpers import staff_client
from tests.browser.conftest import log_in_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_page(browser):
    """A second person's browser: a context of its own (own cookies, own session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_a_rename_and_a_price_change_made_at_once_both_stay(
    page, second_page, production_server, ops_user, roles, make_product
):
    lamp = make_product(name="Lamp", sku="LAMP-1", price="10.00")
    staff_client("ada.ops", first_name="Ada", role=OPERATIONS)
    olivia = log_in_at(page, production_server, "olivia", "pw-olivia")
    ada = log_in_at(second_page, production_server, "ada.ops", "pw-ada.ops")
    url = production_server + f"/admin/inventory/product/{lamp.pk}/change/"

    olivia.goto(url)  # Olivia opens the lamp to rename it; meanwhile Ada opens it and changes its price
    ada.goto(url)
    ada.fill("input[name=price]", "12.00")
    ada.locator("button[name=_continue]").click()
    expect(ada.locator("body")).to_contain_text("was changed successfully")

    olivia.fill("input[name=name]", "Desk lamp")
    olivia.locator("button[name=_continue]").click()

    expect(olivia.locator("body")).to_contain_text("Ada changed the price at ")
    expect(olivia.locator("body")).to_contain_text("your new name was applied to Ada's version.")
    expect(olivia.locator("input[name=price]")).to_have_value("12.00")
    lamp.refresh_from_db()
    assert (lamp.name, lamp.price) == ("Desk lamp", Decimal("12.00"))
    assert lamp.history.first().history_change_reason == "Edited in the admin (name)"

    # Both change the price now: Olivia sees both versions, nothing saved, and chooses hers.
    ada.goto(url)
    olivia.goto(url)
    ada.fill("input[name=price]", "13.00")
    ada.locator("button[name=_continue]").click()
    expect(ada.locator("body")).to_contain_text("was changed successfully")
    olivia.fill("input[name=price]", "15.00")
    olivia.locator("button[name=_continue]").click()

    table = olivia.locator("#edit-conflict-table")
    expect(table).to_contain_text("price")
    expect(table).to_contain_text("12.00")  # before either
    expect(table).to_contain_text("13.00")  # theirs
    expect(table).to_contain_text("15.00")  # yours
    expect(table).to_contain_text("Ada")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("13.00")

    table.get_by_label("Yours").check()
    olivia.locator("button[name=_continue]").click()

    expect(olivia.locator("body")).to_contain_text("was changed successfully")
    expect(olivia.locator("#edit-conflict")).to_have_count(0)
    assert Product.objects.get(pk=lamp.pk).price == Decimal("15.00")
    assert page.console_errors == []
