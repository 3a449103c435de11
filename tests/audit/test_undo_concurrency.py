"""Undo while others write, on PostgreSQL with two connections: a record changed since the change set
is a named conflict (which record, which field, what it is now), never overwritten."""

import threading
from decimal import Decimal

import pytest
from django.db import transaction

from audit import registry
from audit.models import ChangeSet
from audit.undo import UndoConflicts, UndoRefused, change_set_undo
from backoffice.models import Tenant
from imports.jobs import import_recorded
from imports.readers import open_table
from inventory.models import Category, Product
from inventory.services import product_create
from tests.concurrency_helpers import in_thread, someone_waits_for_a_lock

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def imported(superuser, tmp_path):
    """A lamp at 10.00; an import changed its price to 20.00 (one change set)."""
    shop = Tenant.objects.get(subdomain="main")
    category = Category.objects.create(name="Lamps", slug="lamps")
    lamp = product_create(
        product=Product(sku="LAMP-1", name="Lamp", category=category, price=Decimal("10.00")), stock=5
    )
    path = tmp_path / "prices.csv"
    path.write_text("sku,name,category,price\nLAMP-1,Lamp,lamps,20.00\n")
    _, report = import_recorded(resource="products", table=open_table(path), file_name="prices.csv")
    assert Product.objects.get(pk=lamp.pk).price == Decimal("20.00")
    return shop, lamp, report.change_set


@pytest.mark.parametrize(("field", "value"), [("price", Decimal("25.00")), ("name", "Lamp (blue)")])
def test_an_edit_committed_while_the_undo_waits_is_a_named_conflict_not_overwritten(
    imported, superuser, field, value
):
    shop, lamp, change_set = imported
    results = []

    def editor():
        # A person saves the lamp; the undo starts and waits for the row; then the save commits.
        with transaction.atomic():
            product = Product.objects.select_for_update().get(pk=lamp.pk)
            setattr(product, field, value)
            product._change_reason = "Edited in the admin"
            product.save()
            ready.set()
            someone_waits_for_a_lock()
        return "saved"

    ready = threading.Event()
    editing = in_thread(editor, results, shop)
    assert ready.wait(10)
    undo = None
    try:
        undo = change_set_undo(change_set=change_set, user=superuser)
    except UndoConflicts as conflict:
        undo = conflict
    editing.join(30)

    assert results == ["saved"]
    assert isinstance(undo, UndoConflicts), "the undo overwrote the edit"
    assert f"{field} is now {value} (the change set left" in str(undo)
    assert "Lamp (LAMP-1)" in str(undo)
    assert getattr(Product.objects.get(pk=lamp.pk), field) == value
    assert not ChangeSet.objects.filter(kind="undo").exists()
    newest = Product.history.filter(id=lamp.pk).order_by("-history_id").first()
    assert newest.history_change_reason == "Edited in the admin"  # the edit is the last word


def test_an_edit_attempted_during_the_undo_waits_for_it_and_the_undo_records_what_it_locked(
    imported, superuser
):
    shop, lamp, change_set = imported
    results, undoing, original = [], threading.Event(), registry.undo_handler(Product)

    def slow_handler(**kwargs):
        original(**kwargs)
        undoing.set()
        someone_waits_for_a_lock()  # the editor below, waiting for the lamp's row

    def editor():
        undoing.wait(10)
        with transaction.atomic():  # waits for the undo's row lock, then reads what it committed
            product = Product.objects.select_for_update().get(pk=lamp.pk)
            product.name = "Lamp (blue)"
            product._change_reason = "Edited in the admin"
            product.save()
        return "saved"

    registry.track(Product, undo=slow_handler)
    try:
        editing = in_thread(editor, results, shop)
        undo = change_set_undo(change_set=change_set, user=superuser)
    finally:
        registry.track(Product, undo=original)
    editing.join(30)

    assert results == ["saved"]
    lamp = Product.objects.get(pk=lamp.pk)
    assert (lamp.price, lamp.name) == (Decimal("10.00"), "Lamp (blue)")
    rows = list(Product.history.filter(id=lamp.pk).order_by("history_id"))
    undo_row = next(row for row in rows if row.history_change_reason == "Undo of Imported prices.csv")
    assert (undo_row.price, undo_row.name) == (Decimal("10.00"), "Lamp")  # what it was when undone
    assert rows[-1].name == "Lamp (blue)" and undo.row_count == 1


def test_two_undos_of_one_change_set_at_once_undo_it_once(imported, superuser):
    shop, lamp, change_set = imported
    results, undoing, original = [], threading.Event(), registry.undo_handler(Product)

    def slow_handler(**kwargs):
        original(**kwargs)
        if threading.current_thread() is not threading.main_thread():
            undoing.set()
            someone_waits_for_a_lock()  # the second undo, waiting

    registry.track(Product, undo=slow_handler)
    try:
        first = in_thread(lambda: change_set_undo(change_set=change_set, user=superuser), results, shop)
        assert undoing.wait(10)
        with pytest.raises(UndoRefused, match="was already undone"):
            change_set_undo(change_set=change_set, user=superuser)
    finally:
        registry.track(Product, undo=original)
    first.join(30)

    assert len(results) == 1 and isinstance(results[0], ChangeSet)
    assert ChangeSet.objects.filter(kind="undo").count() == 1
    assert Product.objects.get(pk=lamp.pk).price == Decimal("10.00")
