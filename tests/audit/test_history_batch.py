"""A ``history_batch`` copies each recorded row into its history table at its end, with its audit
entry naming the object and the fields that changed on it (the same for all, or each its own)."""

import pytest
from django.contrib.contenttypes.models import ContentType

from audit.models import AuditEntry
from audit.recording import history_batch, history_bulk_record, statement_with_history
from inventory.models import Product

pytestmark = pytest.mark.django_db


def entries_of(products, reason):
    entries = AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Product),
        object_id__in=[str(p.pk) for p in products],
        reason=reason,
    )
    return {entry.object_id: entry for entry in entries}


def test_each_row_gets_its_history_and_an_entry_naming_its_own_changed_fields(make_product, superuser):
    mug, lamp = make_product(name="Mug", stock=5), make_product(name="Lamp", stock=7)
    with history_batch():
        statement_with_history(
            "UPDATE inventory_product SET stock = stock + 1 WHERE id = ANY(%s::uuid[])", [[mug.pk, lamp.pk]]
        )
        history_bulk_record(
            [mug, lamp], reason="Counted again", user=superuser, diffs=[["stock"], ["stock", "name"]]
        )

    entries = entries_of([mug, lamp], "Counted again")
    assert entries[str(mug.pk)].changed_fields == ["stock"]
    assert entries[str(lamp.pk)].changed_fields == ["stock", "name"]
    for product, stock in [(mug, 6), (lamp, 8)]:
        entry = entries[str(product.pk)]
        row = Product.history.get(history_id=entry.history_id)
        # The history row is the row as the batch left it, and the entry points to it.
        assert (row.id, row.stock, row.history_change_reason) == (product.pk, stock, "Counted again")
        assert (entry.object_repr, entry.user_id) == (str(product), superuser.pk)


def test_the_same_fields_for_every_row(make_product, superuser):
    mug, lamp = make_product(name="Mug"), make_product(name="Lamp")
    with history_batch():
        history_bulk_record([mug, lamp], reason="Checked", user=superuser, changed_fields=["price"])

    entries = entries_of([mug, lamp], "Checked")
    assert sorted(entry.changed_fields for entry in entries.values()) == [["price"], ["price"]]
    assert all(entry.action == AuditEntry.Action.CHANGED for entry in entries.values())


def test_nothing_is_written_when_the_block_raises(make_product, superuser):
    mug = make_product(name="Mug")
    with pytest.raises(ZeroDivisionError), history_batch():
        history_bulk_record([mug], reason="Never", user=superuser, changed_fields=["price"])
        1 / 0  # noqa: B018

    assert not entries_of([mug], "Never")
