import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from inventory.models import Product, StockMovement
from inventory.selectors import ledger_balance
from inventory.services import stock_adjust

pytestmark = pytest.mark.django_db


def plant_mismatch(product, stock):
    """What a bug or a hand-written SQL fix would do: change stock behind the ledger's back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_product SET stock = %s WHERE id = %s",
            [stock, product.pk],
        )


def test_reconcile_finds_a_planted_mismatch_and_fails(make_product, capsys):
    fine = make_product(stock=5, sku="FINE-1")
    broken = make_product(stock=5, sku="BROKEN-1", name="Kettle")
    plant_mismatch(broken, 9)

    with pytest.raises(CommandError, match="1 product"):
        call_command("reconcile_stock")

    out = capsys.readouterr().out
    assert "BROKEN-1  Kettle: stock 9, ledger 5, difference +4" in out
    assert "FINE-1" not in out
    assert ledger_balance(fine) == 5


def test_reconcile_fix_writes_a_visible_correction(make_product, capsys):
    broken = make_product(stock=5, sku="BROKEN-2")
    plant_mismatch(broken, 2)

    call_command("reconcile_stock", "--fix")

    correction = StockMovement.objects.filter(product=broken).first()
    assert (correction.kind, correction.quantity) == ("correction", -3)
    assert "stock was 2, movements summed to 5" in correction.reason
    assert ledger_balance(broken) == Product.objects.get(pk=broken.pk).stock == 2
    call_command("reconcile_stock")  # clean now: no error
    assert "Every product's stock equals the sum of its movements." in capsys.readouterr().out


def test_product_page_shows_its_movements_newest_first_with_running_balance(
    client_for, ops_user, make_product
):
    product = make_product(stock=5)
    stock_adjust(product=product, quantity=-2, reason="Broken", user=ops_user)
    stock_adjust(product=product, quantity=10, reason="Delivery 7", user=ops_user)

    page = client_for(ops_user).get(reverse("admin:inventory_product_change", args=[product.pk]))
    formset = next(f for f in page.context["inline_admin_formsets"] if f.opts.model is StockMovement)
    shown = [
        (form.instance.quantity, form.instance.stock_after, form.instance.reason)
        for form in formset.formset.forms
    ]
    assert shown == [(10, 13, "Delivery 7"), (-2, 3, "Broken"), (5, 5, "Opening stock")]
    assert (
        not formset.has_add_permission
        and not formset.has_change_permission
        and not formset.has_delete_permission
    )


def test_the_database_itself_refuses_to_edit_or_delete_movements(make_product):
    from django.db import DatabaseError, transaction

    product = make_product(stock=5)
    edits = ("UPDATE inventory_stockmovement SET quantity = 99", "DELETE FROM inventory_stockmovement")
    for statement in edits:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            connection.cursor().execute(statement)
    assert ledger_balance(product) == 5
