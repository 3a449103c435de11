import uuid

import pytest
from django.urls import reverse

from audit.models import AuditEntry, ChangeSet
from audit.recording import change_set_recording
from audit.undo import UndoConflicts, UndoRefused, change_set_undo, change_set_undo_plan
from inventory.models import Product
from inventory.selectors import ledger_balance
from inventory.services import product_create, product_set_flag, stock_apply
from orders.models import OrderStatus
from orders.services import order_bulk_transition, order_place
from tests.admin_helpers import action, has_message

pytestmark = pytest.mark.django_db


def fresh(product):
    return Product.objects.get(pk=product.pk)


def test_bulk_publish_then_undo_restores_exact_previous_values(make_product, ops_user):
    drafts = [make_product(published=False) for _ in range(3)]
    live = make_product(published=True)
    published = product_set_flag(flag="publish", products=[*drafts, live], user=ops_user)
    assert published.row_count == 3

    undo = change_set_undo(change_set=published, user=ops_user)

    assert [fresh(p).is_published for p in drafts] == [False, False, False]
    assert fresh(live).is_published
    assert (undo.kind, undo.title, undo.undoes, undo.row_count) == (
        "undo",
        "Undo of Bulk publish",
        published,
        3,
    )
    entries = AuditEntry.objects.filter(change_set=undo)
    assert entries.count() == 3 and all(e.changed_fields == ["is_published"] for e in entries)
    assert all(e.reason == "Undo of Bulk publish" and e.user == ops_user for e in entries)


def test_undoing_an_undo_restores_the_change(make_product, ops_user):
    product = make_product(published=False)
    published = product_set_flag(flag="publish", products=[product], user=ops_user)
    undo = change_set_undo(change_set=published, user=ops_user)
    assert not fresh(product).is_published

    change_set_undo(change_set=undo, user=ops_user)

    assert fresh(product).is_published


def simulate_import(user, *, create, update):
    """What an import does: create some products and change others (price, stock), as one change set."""
    with change_set_recording(
        kind=ChangeSet.Kind.IMPORT, title="Imported prices-2026-11.csv", user=user
    ) as cs:
        created = [
            product_create(
                product=Product(name=f"New {i}", sku=f"NEW-{i}", price="5.00", category=update[0].category),
                stock=7,
                user=user,
            )
            for i in range(create)
        ]
        for product in update:
            product.price = product.price * 2
            product._change_reason = "Imported from prices-2026-11.csv"
            product.save()
        stock_apply(
            changes={p.pk: 10 for p in update},
            kind="import",
            reason="Imported from prices-2026-11.csv",
            user=user,
        )
    return cs, created


def test_undo_of_an_import_removes_created_products_and_restores_updated_ones_through_the_ledger(
    make_product, ops_user
):
    existing = [make_product(price="3.00", stock=4) for _ in range(2)]
    imported, created = simulate_import(ops_user, create=2, update=existing)
    assert fresh(existing[0]).stock == 14

    change_set_undo(change_set=imported, user=ops_user)

    assert not Product.objects.filter(pk__in=[p.pk for p in created]).exists()
    for product in existing:
        product = fresh(product)
        assert (str(product.price), product.stock) == ("3.00", 4)
        correction = product.movements.first()
        assert (correction.kind, correction.quantity, correction.reason) == (
            "correction",
            -10,
            "Undo of Imported prices-2026-11.csv",
        )
        assert ledger_balance(product) == 4
    assert (
        AuditEntry.objects.filter(action="deleted", reason="Undo of Imported prices-2026-11.csv").count() == 2
    )


def test_a_record_changed_again_is_a_conflict_listed_and_skipped_only_when_chosen(make_product, ops_user):
    first, second = make_product(published=False), make_product(published=False, price="9.00")
    published = product_set_flag(flag="publish", products=[first, second], user=ops_user)
    second = fresh(second)
    second.price = 11
    second._change_reason = "Price rise"
    second.save()

    plan = change_set_undo_plan(published)
    assert [(r.pk, [row.history_change_reason for row in r.later]) for r in plan.conflicts] == [
        (second.pk, ["Price rise"])
    ]
    with pytest.raises(UndoConflicts, match="1 record"):
        change_set_undo(change_set=published, user=ops_user)
    assert fresh(first).is_published  # nothing changed

    change_set_undo(change_set=published, user=ops_user, skip_conflicts=True)
    assert not fresh(first).is_published
    assert fresh(second).is_published and str(fresh(second).price) == "11.00"


def test_a_refused_undo_changes_nothing(make_product, make_customer, support_user, superuser):
    """A change set that also moved an order: undo refuses (orders move only through their actions),
    and the products it would have restored stay as they are."""
    product = make_product(published=False, stock=5)
    order = order_place(customer=make_customer(), lines={make_product(stock=5): 1})
    with change_set_recording(kind=ChangeSet.Kind.BULK_ACTION, title="Mixed", user=superuser) as mixed:
        product_set_flag(flag="publish", products=[product], user=superuser)
        order_bulk_transition(orders=[order], to=OrderStatus.SHIPPED, user=superuser)

    with pytest.raises(UndoRefused, match=order.number):
        change_set_undo(change_set=mixed, user=superuser)

    assert fresh(product).is_published
    assert not mixed.undone_by.exists()
    assert not ChangeSet.objects.filter(kind="undo").exists()


def test_orders_refuse_bulk_undo_naming_them(make_product, make_customer, support_user):
    order = order_place(customer=make_customer(), lines={make_product(stock=5): 1})
    shipped = order_bulk_transition(orders=[order], to=OrderStatus.SHIPPED, user=support_user)
    with pytest.raises(UndoRefused, match=order.number):
        change_set_undo(change_set=shipped, user=support_user)


def test_an_auditor_cannot_undo(client_for, make_product, ops_user, auditor):
    product = make_product(published=False)
    published = product_set_flag(flag="publish", products=[product], user=ops_user)
    with pytest.raises(UndoRefused, match="permission"):
        change_set_undo(change_set=published, user=auditor)
    client = client_for(auditor)
    page = client.get(reverse("admin:audit_changeset_change", args=[published.pk]))
    assert page.status_code == 200
    assert reverse("admin:audit_changeset_undo", args=[published.pk]) not in page.content.decode()
    assert client.post(reverse("admin:audit_changeset_undo", args=[published.pk])).status_code == 403
    assert fresh(product).is_published


def test_change_set_page_lists_records_with_old_and_new_values_and_undo_works_from_it(
    client_for, ops_user, make_product
):
    products = [make_product(published=False, name=f"Lamp {i}") for i in range(3)]
    client = client_for(ops_user)
    response = action(client, reverse("admin:inventory_product_changelist"), "publish", products)
    assert has_message(response, "3 products published. See or undo this change")
    change_set = ChangeSet.objects.get(title="Bulk publish")

    page = client.get(reverse("admin:audit_changeset_change", args=[change_set.pk]))
    records = page.context["records"]
    assert len(records) == 3
    assert all(changes == [("Published", "No", "Yes")] for _, changes in records)  # as the form labels them

    confirm = client.get(reverse("admin:audit_changeset_undo", args=[change_set.pk]))
    assert "Undo this change set" in confirm.content.decode()
    done = client.post(
        reverse("admin:audit_changeset_undo", args=[change_set.pk]), {"choice": "undo"}, follow=True
    )
    assert has_message(done, "“Bulk publish” was undone (3 record(s)).")
    assert not any(fresh(p).is_published for p in products)
    again = client.post(
        reverse("admin:audit_changeset_undo", args=[change_set.pk]), {"choice": "undo"}, follow=True
    )
    assert has_message(again, "was already undone")


def test_audit_log_filters_by_change_set(client_for, auditor, make_product, ops_user):
    make_product()
    published = product_set_flag(flag="publish", products=[make_product(published=False)], user=ops_user)
    rows = (
        client_for(auditor)
        .get(reverse("admin:audit_auditentry_changelist"), {"change_set__id__exact": published.pk})
        .context["cl"]
        .result_list
    )
    assert [e.reason for e in rows] == ["Bulk publish"]


def test_undo_of_thousands_of_rows_runs_a_bounded_number_of_queries(ops_user, django_assert_max_num_queries):
    import random

    from inventory.demo_data import seed_products

    seed_products(2_500, rng=random.Random(1))  # with their first history rows, as imports have
    product_set_flag(flag="unpublish", products=Product.objects.values_list("pk", flat=True), user=ops_user)
    published = product_set_flag(
        flag="publish", products=Product.objects.values_list("pk", flat=True), user=ops_user
    )
    assert published.row_count == 2_500
    with django_assert_max_num_queries(40):  # a handful per 1,000-row batch, never one per row
        undo = change_set_undo(change_set=published, user=ops_user)
    assert undo.row_count == 2_500
    assert not Product.objects.filter(is_published=True).exists()


def test_records_with_no_earlier_version_are_conflicts(make_category, ops_user):
    """Rows loaded without history (before tracking began) can't be put back: they are listed."""
    import random

    from core.bulk import copy_rows
    from inventory.demo_data import PRODUCT_COLUMNS, product_rows

    ((row, _),) = product_rows(1, rng=random.Random(3), leaves=[make_category("Loose")])
    copy_rows(Product, PRODUCT_COLUMNS, [row])
    product_set_flag(flag="unpublish", products=Product.objects.values_list("pk", flat=True), user=ops_user)
    published = product_set_flag(
        flag="publish", products=Product.objects.values_list("pk", flat=True), user=ops_user
    )
    # Unpublishing wrote the first history row, so publish can be undone: back to unpublished.
    assert change_set_undo_plan(published).conflicts == []

    loose = (uuid.uuid4(), "LOOSE-2", *row[2:3], "loose-2", *row[4:9], False, *row[10:])
    copy_rows(Product, PRODUCT_COLUMNS, [loose])
    published = product_set_flag(flag="publish", products=[loose[0]], user=ops_user)
    plan = change_set_undo_plan(published)
    assert [record.problem for record in plan.conflicts] == ["no earlier version is recorded"]
    with pytest.raises(UndoRefused, match="Nothing left to undo"):
        change_set_undo(change_set=published, user=ops_user, skip_conflicts=True)
