"""Two people editing the same product (and its images) or category: nobody's change is lost. Changes
to different fields merge; changes to the same field come back side by side, with nothing saved."""

from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from backoffice.roles import OPERATIONS
from inventory.models import Category, Product, ProductImage
from tests.admin_helpers import form_data, has_message, messages_of, staff_client

pytestmark = pytest.mark.django_db

IMAGE_PERMS = ["inventory.delete_productimage"]


@pytest.fixture
def ada(roles):
    return staff_client("ada.ops", first_name="Ada", role=OPERATIONS, perms=IMAGE_PERMS)


@pytest.fixture
def olivia(roles):
    return staff_client("olivia", role=OPERATIONS, perms=IMAGE_PERMS)


@pytest.fixture
def lamp(make_product):
    product = make_product(name="Lamp", sku="LAMP-1", price="10.00")
    for position, side in enumerate(["front", "back"]):
        url = f"https://example.com/{side}.jpg"
        ProductImage.objects.create(product=product, url=url, alt_text=side.title(), position=position)
    return product


def change_url(record):
    return reverse(f"admin:{record._meta.app_label}_{record._meta.model_name}_change", args=[record.pk])


def opened(client, record):
    """The change form as the person sees it: a GET, then what its form would post."""
    response = client.get(change_url(record))
    assert response.status_code == 200
    return response


def image_index(response, alt_text):
    inlines = response.context["inline_admin_formsets"]
    formset = next(inline.formset for inline in inlines if inline.formset.prefix == "images")
    return next(i for i, form in enumerate(formset.initial_forms) if form.instance.alt_text == alt_text)


def save(client, record, page, **changes):
    return client.post(change_url(record), form_data(page, **changes), follow=True)


def conflict_rows(response):
    conflict = response.context["edit_conflict"]
    return [(c.record, c.label, c.before, c.theirs, c.yours, c.author.who) for c in conflict.clashes]


def history_reasons(record):
    return [row.history_change_reason for row in record.history.order_by("history_id")]


def test_a_rename_and_a_price_change_at_once_both_survive_and_the_message_says_so(ada, olivia, lamp):
    olivias_page = opened(olivia, lamp)  # Olivia opened the lamp first...
    adas_page = opened(ada, lamp)

    save(ada, lamp, adas_page, price="12.00")  # ...Ada changed its price and saved...
    response = save(olivia, lamp, olivias_page, name="Desk lamp")  # ...then Olivia saved her rename.

    lamp.refresh_from_db()
    assert (lamp.name, lamp.price) == ("Desk lamp", Decimal("12.00"))
    assert has_message(response, "Ada changed the price at ")
    assert has_message(response, "; your new name was applied to Ada's version.")
    # History shows each person changing only what they changed.
    last, before = lamp.history.order_by("-history_id")[:2]
    assert (last.history_user.username, last.history_change_reason) == (
        "olivia",
        "Edited in the admin (name)",
    )
    assert (before.history_user.username, before.history_change_reason) == (
        "ada.ops",
        "Edited in the admin (price)",
    )
    newest = AuditEntry.objects.filter(object_id=str(lamp.pk)).order_by("-id").first()
    assert newest.changed_fields == ["name"]


def test_an_unchanged_record_saves_as_before_without_a_merge_message(ada, lamp):
    response = save(ada, lamp, opened(ada, lamp), price="11.00")
    lamp.refresh_from_db()
    assert lamp.price == Decimal("11.00")
    assert not any("version" in message for message in messages_of(response))


def test_a_description_posted_back_as_browsers_send_it_is_not_a_change(ada, olivia, make_product):
    lamp = make_product(name="Lamp", sku="LAMP-2", description="Warm light.\nBrass base.")
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    save(ada, lamp, adas_page, description="Warm light.\r\nSteel base.")  # browsers post CRLF

    response = save(olivia, lamp, olivias_page, name="Desk lamp", description="Warm light.\r\nBrass base.")

    assert response.redirect_chain
    lamp.refresh_from_db()
    assert (lamp.name, lamp.description) == ("Desk lamp", "Warm light.\nSteel base.")
    assert history_reasons(lamp)[-2:] == ["Edited in the admin (description)", "Edited in the admin (name)"]


def test_two_prices_at_once_come_back_side_by_side_and_nothing_is_saved(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    save(ada, lamp, adas_page, price="12.00")
    rows_before = lamp.history.count()

    response = save(olivia, lamp, olivias_page, price="15.00", name="Desk lamp")

    assert response.status_code == 200 and response.redirect_chain == []
    assert conflict_rows(response) == [("Lamp (LAMP-1)", "price", "10.00", "12.00", "15.00", "Ada")]
    lamp.refresh_from_db()
    assert (lamp.name, lamp.price) == ("Lamp", Decimal("12.00"))  # not even the rename
    assert lamp.history.count() == rows_before
    page = response.content.decode()
    assert "Nothing was saved" in page and 'id="edit-conflict-table"' in page


@pytest.mark.parametrize(("keep", "price"), [("yours", Decimal("15.00")), ("theirs", Decimal("12.00"))])
def test_after_a_conflict_the_person_chooses_field_by_field_and_saves(ada, olivia, lamp, keep, price):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    save(ada, lamp, adas_page, price="12.00", description="Warm light")
    conflict = save(olivia, lamp, olivias_page, price="15.00", name="Desk lamp")
    choice = conflict.context["edit_conflict"].clashes[0].choice_name

    response = olivia.post(change_url(lamp), form_data(conflict, **{choice: keep}), follow=True)

    assert response.redirect_chain, response.context["adminform"].form.errors
    lamp.refresh_from_db()
    # Her rename and her chosen price; Ada's description, which Olivia never touched, stays.
    assert (lamp.name, lamp.price, lamp.description) == ("Desk lamp", price, "Warm light")
    fields = "name, price" if keep == "yours" else "name"
    assert lamp.history.first().history_change_reason == f"Edited in the admin ({fields})"


def test_saving_again_without_choosing_shows_the_comparison_again(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    save(ada, lamp, adas_page, price="12.00")
    conflict = save(olivia, lamp, olivias_page, price="15.00")

    again = olivia.post(change_url(lamp), form_data(conflict), follow=True)

    assert conflict_rows(again) == [("Lamp (LAMP-1)", "price", "10.00", "12.00", "15.00", "Ada")]
    assert Product.objects.get(pk=lamp.pk).price == Decimal("12.00")


def test_a_third_change_after_the_comparison_is_shown_again(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    save(ada, lamp, adas_page, price="12.00")
    conflict = save(olivia, lamp, olivias_page, price="15.00")
    save(ada, lamp, opened(ada, lamp), price="13.00")  # Ada again, while Olivia reads the comparison
    choice = conflict.context["edit_conflict"].clashes[0].choice_name

    again = olivia.post(change_url(lamp), form_data(conflict, **{choice: "yours"}), follow=True)

    assert conflict_rows(again) == [("Lamp (LAMP-1)", "price", "10.00", "13.00", "15.00", "Ada")]
    assert Product.objects.get(pk=lamp.pk).price == Decimal("13.00")


def test_image_rows_merge_field_by_field(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    front = image_index(adas_page, "Front")
    save(ada, lamp, adas_page, **{f"images-{front}-alt_text": "Front view"})

    response = save(olivia, lamp, olivias_page, **{f"images-{front}-url": "https://example.com/front2.jpg"})

    image = lamp.images.get(position=0)
    assert (image.alt_text, image.url) == ("Front view", "https://example.com/front2.jpg")
    assert has_message(response, "Ada changed the alt text of product image “Front view” at ")
    assert image.history.first().history_change_reason == "Edited in the admin (url)"


def test_changing_only_an_image_still_says_who_changed_the_product_since(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    save(ada, lamp, adas_page, price="12.00")

    response = save(
        olivia, lamp, olivias_page, **{f"images-{image_index(olivias_page, 'Front')}-alt_text": "Ahead"}
    )

    assert has_message(response, "Ada changed the price at ")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("12.00")
    assert lamp.images.get(position=0).alt_text == "Ahead"


def test_the_same_image_field_changed_by_both_comes_back_side_by_side(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    front = image_index(adas_page, "Front")
    save(ada, lamp, adas_page, **{f"images-{front}-alt_text": "Front view"})

    response = save(olivia, lamp, olivias_page, name="Desk lamp", **{f"images-{front}-alt_text": "The front"})

    assert conflict_rows(response) == [
        ("product image “Front view”", "alt text", "Front", "Front view", "The front", "Ada")
    ]
    assert lamp.images.get(position=0).alt_text == "Front view"
    assert Product.objects.get(pk=lamp.pk).name == "Lamp"  # all or nothing


def test_an_image_deleted_since_that_the_person_left_alone_stays_deleted(ada, olivia, lamp):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    back = image_index(adas_page, "Back")
    save(ada, lamp, adas_page, **{f"images-{back}-DELETE": "on"})

    response = save(olivia, lamp, olivias_page, name="Desk lamp")

    assert response.redirect_chain
    assert Product.objects.get(pk=lamp.pk).name == "Desk lamp"
    assert list(lamp.images.values_list("alt_text", flat=True)) == ["Front"]
    assert has_message(response, "Ada deleted product image “Back” at ")


@pytest.mark.parametrize(("keep", "alts"), [("theirs", ["Front"]), ("yours", ["Front", "Back, scratched"])])
def test_an_image_deleted_since_that_the_person_changed_is_their_choice(ada, olivia, lamp, keep, alts):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    back = image_index(adas_page, "Back")
    save(ada, lamp, adas_page, **{f"images-{back}-DELETE": "on"})

    conflict = save(olivia, lamp, olivias_page, **{f"images-{back}-alt_text": "Back, scratched"})
    assert conflict_rows(conflict) == [
        (
            "product image “Back, scratched”",
            "the whole row",
            "as you opened it",
            "deleted",
            "changed: alt text Back, scratched",
            "Ada",
        )
    ]
    assert list(lamp.images.values_list("alt_text", flat=True)) == ["Front"]
    choice = conflict.context["edit_conflict"].clashes[0].choice_name

    response = olivia.post(change_url(lamp), form_data(conflict, **{choice: keep}), follow=True)

    assert response.redirect_chain, response.context["adminform"].form.errors
    assert sorted(lamp.images.values_list("alt_text", flat=True)) == sorted(alts)


@pytest.mark.parametrize(("keep", "alts"), [("theirs", ["Back (dented)", "Front"]), ("yours", ["Front"])])
def test_deleting_an_image_someone_changed_since_asks_first(ada, olivia, lamp, keep, alts):
    olivias_page, adas_page = opened(olivia, lamp), opened(ada, lamp)
    back = image_index(adas_page, "Back")
    save(ada, lamp, adas_page, **{f"images-{back}-alt_text": "Back (dented)"})

    conflict = save(olivia, lamp, olivias_page, **{f"images-{back}-DELETE": "on"})
    [(_, label, _, theirs, yours, who)] = conflict_rows(conflict)
    assert (label, theirs, yours) == ("the whole row", "changed: alt text is now Back (dented)", "deleted")
    assert who == "Ada"
    assert lamp.images.count() == 2
    choice = conflict.context["edit_conflict"].clashes[0].choice_name

    response = olivia.post(change_url(lamp), form_data(conflict, **{choice: keep}), follow=True)

    assert response.redirect_chain, response.context["adminform"].form.errors
    assert sorted(lamp.images.values_list("alt_text", flat=True)) == alts


def test_a_category_renamed_and_moved_at_once_keeps_both(ada, olivia, make_category):
    lights, shop = make_category("Lights"), make_category("Shop")
    olivias_page, adas_page = opened(olivia, lights), opened(ada, lights)
    save(ada, lights, adas_page, parent=str(shop.pk))

    response = save(olivia, lights, olivias_page, name="Lamps and lights")

    lights = Category.objects.get(pk=lights.pk)
    assert (lights.name, lights.parent) == ("Lamps and lights", shop)
    assert has_message(response, "Ada changed the parent at ")


def test_a_form_whose_versions_were_tampered_with_saves_nothing(olivia, lamp):
    page = opened(olivia, lamp)
    data = form_data(page, price="1.00")
    data["_edit_versions"] = data["_edit_versions"][:-3] + "abc"

    response = olivia.post(change_url(lamp), data, follow=True)

    assert has_message(response, "can't be read: reload the page")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("10.00")


def test_adjusting_stock_that_moved_since_the_dialog_opened_says_what_moved(ada, olivia, make_product):
    bulbs = make_product(name="Bulb", stock=20)
    url = reverse("admin:inventory_product_adjust_stock", args=[bulbs.pk])
    dialog = olivia.get(url).context["form"]
    assert "Bulb has 20 in stock now." in dialog.render_before_template()
    seen = {name: dialog[name].value() for name in ("stock_seen", "ledger_seen")}
    ada.post(url, {"quantity": "-2", "reason": "Broken", "_form_submitted": "1"})

    response = olivia.post(
        url, {"quantity": "12", "reason": "Delivery 7", "_form_submitted": "1", **seen}, follow=True
    )

    assert Product.objects.get(pk=bulbs.pk).stock == 30  # +12 on top of what Ada left
    assert has_message(response, "Stock of Bulb changed by +12 to 30.")
    assert has_message(response, "The stock was 18 when you confirmed, not 20 as when the dialog opened: ")
    assert has_message(response, "adjustment -2 (by Ada, at ")


def test_adjusting_stock_nobody_moved_says_only_what_it_did(olivia, make_product):
    bulbs = make_product(name="Bulb", stock=20)
    url = reverse("admin:inventory_product_adjust_stock", args=[bulbs.pk])
    dialog = olivia.get(url).context["form"]
    seen = {name: dialog[name].value() for name in ("stock_seen", "ledger_seen")}

    data = {"quantity": "5", "reason": "Found", "_form_submitted": "1", **seen}
    response = olivia.post(url, data, follow=True)

    assert messages_of(response)[-1] == "Stock of Bulb changed by +5 to 25."


def test_a_revert_page_opened_before_someone_else_saved_refuses_to_undo_their_change(ada, olivia, lamp):
    first = lamp.history.order_by("history_id").first()
    save(olivia, lamp, opened(olivia, lamp), price="11.00")
    url = reverse("admin:inventory_product_simple_history", args=[lamp.pk, first.history_id])
    revert_page = olivia.get(url)  # Olivia opens the first version to revert to it...
    seen = revert_page.context["revert_seen"]
    save(ada, lamp, opened(ada, lamp), name="Desk lamp")  # ...and Ada renames the lamp meanwhile

    refused = olivia.post(url, {"revert_reason": "Wrong price", "revert_seen": seen}, follow=True)

    assert has_message(refused, "Since you opened this page, Ada changed the name at ")
    assert has_message(refused, "Nothing was changed.")
    lamp.refresh_from_db()
    assert (lamp.name, lamp.price) == ("Desk lamp", Decimal("11.00"))

    again = olivia.get(url).context["revert_seen"]  # opened again: she has seen the rename now
    done = olivia.post(url, {"revert_reason": "Wrong price", "revert_seen": again}, follow=True)

    assert has_message(done, "was reverted")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("10.00")
