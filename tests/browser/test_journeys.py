"""The three roles' daily work, in a real browser, against the production-like server."""

import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from orders.models import Order, OrderStatus
from orders.services import order_place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operations_bulk_publishes_low_stock_products_and_sees_it_in_history(
    login, page, production_server, ops_user, make_product, make_category
):
    shelf = make_category("Lamps")
    low = [make_product(name=f"Low lamp {i}", stock=3 + i, published=False, category=shelf) for i in range(3)]
    make_product(name="Plenty lamp", stock=200, published=False, category=shelf)

    login("olivia", "pw-olivia")
    page.goto(production_server + "/admin/inventory/product/?stock_state=low")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    for product in low:
        page.locator(f"input.action-select[value='{product.pk}']").check()
    page.select_option("select[name=action]", "publish")
    page.get_by_role("button", name="Run").click()

    # First what it will do; nothing changes until confirmed.
    expect(page.locator("#action-effects")).to_contain_text("Bulk publish: 3 of the 3 selected products")
    assert not any(Product.objects.get(pk=p.pk).is_published for p in low)
    page.get_by_role("button", name="Bulk publish").click()

    expect(page.locator("body")).to_contain_text("3 products published.")
    expect(page.locator("#result_list")).to_contain_text("Published")
    assert all(Product.objects.get(pk=p.pk).is_published for p in low)
    assert not Product.objects.get(name="Plenty lamp").is_published

    page.goto(production_server + f"/admin/inventory/product/{low[0].pk}/history/")
    expect(page.locator("#change-history")).to_contain_text("Bulk publish")
    page.locator("#change-history tbody tr.data-row td").first.click()  # unfolds the diff
    expect(page.locator("#change-history")).to_contain_text("Published")
    expect(page.locator("#change-history")).to_contain_text("True")


def test_support_changes_a_line_and_cancels_another_order(
    login, page, production_server, support_user, make_product, make_customer
):
    mug = make_product(name="Blue mug", price="10.00", stock=20)
    kettle = make_product(name="Steel kettle", price="30.00", stock=5)
    order = order_place(customer=make_customer(), lines={mug: 2})
    other = order_place(customer=make_customer(), lines={kettle: 3})

    login("sam", "pw-sam")
    page.goto(production_server + "/admin/orders/order/")
    page.fill("input[name=q]", order.number)
    page.keyboard.press("Enter")
    page.get_by_role("link", name=order.number).click()

    page.fill("input[name='items-0-quantity']", "5")
    expect(page.locator("#order-totals")).to_contain_text("Saving charges the customer 32.40 USD more")
    page.locator("button[name=_continue]").click()
    expect(page.locator("#money-difference")).to_contain_text("The customer will be charged 32.40 USD more.")
    page.get_by_role("button", name=re.compile("Charge 32.40 USD and save")).click()

    expect(page.locator("body")).to_contain_text("54.00 USD")  # 5 x 10.00 + 8 % tax
    order.refresh_from_db()
    assert order.total == Decimal("54.00")
    assert Product.objects.get(pk=mug.pk).stock == 15

    page.goto(production_server + f"/admin/orders/order/{other.pk}/change/")
    page.get_by_role("link", name=re.compile("Cancel order")).click()
    dialog = page.locator("#dialog")
    # A dialog says what cancelling does; only its button changes anything.
    expect(dialog).to_contain_text("97.20 USD goes back to the customer")
    expect(dialog).to_contain_text("3 x Steel kettle")
    assert Order.objects.get(pk=other.pk).status == OrderStatus.PAID
    dialog.locator("input[name=reason]").fill("Customer found it cheaper elsewhere")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("body")).to_contain_text(
        f"Order {other.number} cancelled: 97.20 USD refunded, its stock returned."
    )
    assert Order.objects.get(pk=other.pk).status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=kettle.pk).stock == 5
    assert page.console_errors == []


def choose(page, container, term: str, option: str | None = None):
    """Type ``term`` in a select2 autocomplete (Django's, as Unfold shows it) inside ``container``, and
    pick the option showing ``option`` (the term itself by default)."""
    container.locator(".select2-selection").first.click()
    page.locator(".select2-container--open .select2-search__field").fill(term)
    page.locator(".select2-results__option", has_text=option or term).first.click()


def test_support_takes_an_order_by_phone_edits_it_and_takes_a_line_back_with_a_partial_refund(
    login, page, production_server, support_user, make_product, make_customer
):
    from orders.models import Payment
    from orders.services import order_ship

    ada = make_customer(name="Ada Lovelace", email="ada@example.com")
    mug = make_product(name="Blue mug", sku="MUG-1", price="1200.00", stock=20)
    lamp = make_product(name="Desk lamp", sku="LAMP-1", price="30.00", stock=5)

    login("sam", "pw-sam")
    # A draft for Ada: lines picked by product (stock and price shown), totals as they are typed.
    page.goto(production_server + "/admin/orders/order/add/")
    choose(page, page.locator(".field-customer"), "Ada")
    rows = page.locator("tr.form-row:not(.empty-form)")
    choose(page, rows.nth(0), "Blue mug")
    expect(page.locator(".select2-selection__rendered").nth(1)).to_contain_text("Blue mug")
    page.fill("input[name='items-0-quantity']", "2")
    expect(page.locator("#order-totals [data-total=total]")).to_have_text("2,592.00 USD")
    page.get_by_role("link", name=re.compile("Add another", re.IGNORECASE)).click()
    choose(
        page,
        page.locator("tr.form-row:not(.empty-form)").nth(1),
        "Desk",
        "Desk lamp (LAMP-1) · 5 in stock · 30.00 USD",
    )
    page.fill("input[name='items-1-quantity']", "1")
    expect(page.locator("#order-totals [data-total=total]")).to_have_text("2,624.40 USD")
    page.locator("button[name=_save]").click()

    draft = Order.objects.get()
    expect(page.locator("body")).to_contain_text(f"Draft {draft.number} saved")
    assert draft.customer == ada and draft.status == OrderStatus.DRAFT
    assert Product.objects.get(pk=mug.pk).stock == 20  # a draft takes no stock

    # Placed: the dialog says what is taken and charged.
    page.get_by_role("link", name=re.compile("Place order")).click()
    dialog = page.locator("#dialog")
    expect(dialog).to_contain_text("2 x Blue mug (MUG-1) — 20 in stock")
    expect(dialog).to_contain_text("2,624.40 USD")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("body")).to_contain_text(
        f"Order {draft.number} placed: the customer was charged 2,624.40 USD."
    )
    assert Order.objects.get().status == OrderStatus.PAID

    # One more mug: the extra charge is shown, then confirmed.
    page.fill("input[name='items-0-quantity']", "3")
    expect(page.locator("#order-totals")).to_contain_text("Saving charges the customer 1,296.00 USD more")
    page.locator("button[name=_continue]").click()
    expect(page.locator("#money-difference")).to_contain_text(
        "The customer will be charged 1,296.00 USD more."
    )
    expect(page.locator("body")).to_contain_text("Blue mug (MUG-1): 2 → 3")
    page.get_by_role("button", name=re.compile("Charge 1,296.00 USD and save")).click()
    expect(page.locator("#timeline")).to_contain_text("Lines edited")
    assert Order.objects.get().total == Decimal("3920.40")

    order_ship(order=draft, user=support_user)  # the warehouse sends it; the lamp comes back broken

    page.reload()
    page.get_by_role("link", name=re.compile(r"Refund \/ return")).click()
    lamp_line = draft.items.get(product=lamp)
    page.fill(f"input[name=quantity_{lamp_line.pk}]", "1")
    page.select_option(f"select[name=goods_{lamp_line.pk}]", "write_off")
    expect(page.locator("#lines-value")).to_contain_text("32.40 USD")
    page.fill("input[name=reason]", "Arrived broken")
    page.get_by_role("button", name="Review").click()
    review = page.locator("#refund-review")
    expect(review).to_contain_text("32.40 USD goes back to the customer")
    expect(review).to_contain_text("1 x Desk lamp: written off as damaged")
    expect(review).to_contain_text("partially refunded")
    page.get_by_role("button", name=re.compile("Refund 32.40 USD")).click()

    expect(page.locator("body")).to_contain_text(
        f"32.40 USD refunded on {draft.number}; 1 unit(s) written off."
    )
    timeline = page.locator("#timeline-events")
    for event in (
        "Goods returned",
        "Refunded",
        "Paid → Shipped",
        "Lines edited",
        "Charged",
        "Placed",
        "Draft created",
    ):
        expect(timeline).to_contain_text(event)
    expect(timeline).to_contain_text("1 x Desk lamp (LAMP-1): written off (damaged)")
    expect(timeline).to_contain_text("Blue mug (MUG-1): 2 → 3")
    for payment in Payment.objects.filter(status="succeeded"):
        expect(timeline).to_contain_text(payment.gateway_reference)
    order = Order.objects.get()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED and order.total == Decimal("3888.00")
    assert Product.objects.get(pk=lamp.pk).stock == 4 and Product.objects.get(pk=mug.pk).stock == 17
    assert page.console_errors == []


def test_auditor_reads_the_audit_log_and_cannot_change_anything(
    login, page, production_server, auditor, ops_user, make_product
):
    from inventory.services import product_set_flag

    product = make_product(name="Audited lamp", published=False)
    product_set_flag(flag="publish", products=[product], user=ops_user)

    login("ada", "pw-ada")
    page.goto(production_server + f"/admin/audit/auditentry/?user__id__exact={ops_user.pk}")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bulk publish")
    rows.first.locator("a").first.click()
    expect(page.locator("body")).to_contain_text("is_published")
    expect(page.locator("body")).to_contain_text("True")

    page.goto(production_server + f"/admin/inventory/product/{product.pk}/change/")
    expect(page.locator("button[name=_save]")).to_have_count(0)
    expect(page.locator("a.deletelink, a[href$='/delete/']")).to_have_count(0)

    response = page.goto(production_server + "/admin/inventory/product/add/")
    assert response.status == 403


CANVAS_HAS_INK = """
canvas => {
    const { width, height } = canvas;
    if (!width || !height) return false;
    const pixels = canvas.getContext("2d").getImageData(0, 0, width, height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
}
"""


def test_dashboard_shows_figures_and_drawn_charts_without_console_errors(
    login, page, production_server, superuser, make_product, make_customer
):
    from orders.services import order_transition

    mugs = make_product(name="Dash mug", price="10.00", stock=100)
    make_product(name="Nearly gone lamp", stock=2)
    for quantity in (1, 2, 3):
        order = order_place(customer=make_customer(), lines={mugs: quantity})
        order_transition(to="shipped", order=order)
        order_transition(to="completed", order=order)
    order_place(customer=make_customer(), lines={mugs: 1}, charge=False)

    login("boss", "pw-boss")
    page.goto(production_server + "/admin/")
    page.wait_for_load_state("networkidle")

    dashboard = page.locator("#dashboard")
    expect(dashboard).to_contain_text("64.80")  # 6 mugs x 10.00 + 8 % tax, today and in every period
    expect(dashboard).to_contain_text("Nearly gone lamp")
    expect(dashboard).to_contain_text("Dash mug")
    canvases = page.locator("#dashboard canvas")
    assert canvases.count() >= 3
    page.wait_for_function(
        f"() => [...document.querySelectorAll('#dashboard canvas')].every({CANVAS_HAS_INK.strip()})",
        timeout=10_000,
    )
    assert page.console_errors == []


def test_operations_imports_a_csv_after_fixing_the_row_the_preview_names(
    login, page, production_server, ops_user, make_category, tmp_path
):
    make_category("Phones")
    broken = tmp_path / "supplier.csv"
    broken.write_text(
        "sku,name,category,price,stock\nPH-1,Pocket phone,phones,199.00,5\nPH-2,Desk phone,phones,-4,3\n"
    )

    login("olivia", "pw-olivia")
    page.goto(production_server + "/admin/inventory/product/import/")
    page.set_input_files("input[name=import_file]", str(broken))
    page.select_option("select[name=format]", index=1)
    page.locator("form button[type=submit]").last.click()

    expect(page.locator("#import-rows-to-fix")).to_contain_text("row 3")
    expect(page.locator("body")).to_contain_text("price")
    expect(page.locator("body")).to_contain_text("-4 is negative")
    assert not Product.objects.filter(sku__startswith="PH-").exists()

    fixed = tmp_path / "supplier-fixed.csv"
    fixed.write_text(
        "sku,name,category,price,stock\nPH-1,Pocket phone,phones,199.00,5\nPH-2,Desk phone,phones,49.00,3\n"
    )
    page.goto(production_server + "/admin/inventory/product/import/")
    page.set_input_files("input[name=import_file]", str(fixed))
    page.select_option("select[name=format]", index=1)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("body")).to_contain_text("2 new")
    page.get_by_role("button", name=re.compile("Confirm", re.IGNORECASE)).click()

    expect(page.locator("body")).to_contain_text("Imported supplier-fixed.csv: 2 new")
    page.goto(production_server + "/admin/inventory/product/?q=PH-")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("Desk phone")
    assert Product.objects.get(sku="PH-2").stock == 3


def test_support_reads_in_the_outbox_what_the_customer_was_sent(
    login, page, production_server, production_env, support_user, make_product, make_customer, settings
):
    """The demo's e-mail: kept in the outbox (not sent), written by a worker, read by support."""
    from pathlib import Path

    from notifications.models import Message
    from orders.services import order_transition
    from tests.celery_helpers import embedded_worker, filesystem_broker

    settings.EMAIL_KEEP = True
    mug = make_product(name="Blue mug", price="10.00", stock=20)

    def kept(**which):
        for _ in range(300):
            if Message.objects.filter(state="kept", **which).exists():
                return
            time.sleep(0.1)
        raise AssertionError(f"no kept message {which}: {list(Message.objects.values('kind', 'state'))}")

    # The worker takes the tasks of this process and of the server (their queue folder).
    with embedded_worker(*filesystem_broker(Path(production_env["CELERY_QUEUE_DIR"]))):
        order = order_place(customer=make_customer(email="ada@example.com"), lines={mug: 2})
        kept(order=order, kind="order_placed")
        login("sam", "pw-sam")
        page.goto(production_server + "/admin/notifications/message/")
        row = page.locator("#result_list tbody tr").first
        expect(row).to_contain_text(f"Your order {order.number} at Main shop")
        expect(row).to_contain_text("ada@example.com")
        expect(row).to_contain_text("Kept, not sent")

        row.get_by_role("link", name=re.compile(order.number)).first.click()
        mail = page.frame_locator("iframe[title='The e-mail as HTML']")
        expect(mail.locator("body")).to_contain_text(f"Thank you for your order {order.number}")
        expect(mail.locator("body")).to_contain_text("21.60 USD")
        expect(page.locator("body")).to_contain_text("2 x Blue mug")  # the plain text

        order_transition(to="shipped", order=order)
        kept(order=order, kind="order_shipped")
        page.goto(production_server + f"/admin/orders/order/{order.pk}/change/")
        emails = page.locator("#dataset-message-group")
        expect(emails).to_contain_text(f"Your order {order.number} is on its way")
        expect(emails).to_contain_text(f"Your order {order.number} at Main shop")
    assert page.console_errors == []
