"""Undoing a change set's products (registered with ``audit.registry`` by the catalogue app): catalogue
fields restored as recorded, stock through the ledger."""

from audit.recording import delete_with_history, history_bulk_record
from audit.undo import UndoRefused, restorable_values, restore_changed
from core.deletion import protectors_text, referenced_elsewhere

from ..models import Product, ProductImage, StockMovement
from .stock import ledger_purge, stock_apply


def product_undo(*, records, reason: str, user=None) -> None:
    """Put products back as they were before a change set.

    Catalogue fields get their old values; stock goes back through the ledger (a correction for the
    difference, refused like any stock change if it would go below zero); products the change set
    created are removed together with the ledger rows it wrote for them (refused if records of
    other apps refer to them, such as order lines); products it deleted come back, their stock
    re-entered in the ledger.
    """
    changed, stock_changes, created, deleted = [], {}, [], []
    for record in records:
        if record.created_by_change_set:
            if record.current is not None:
                created.append(record.current)
        elif record.current is None:
            deleted.append(record.before)
        else:
            changed.append((record.current, restorable_values(Product, record.before, keep=("stock",))))
            if record.before.stock != record.current.stock:
                stock_changes[record.pk] = record.before.stock - record.current.stock
    restore_changed(Product, changed, reason=reason, user=user)
    # The undo locked these products (in primary-key order) and compared them: not locked again.
    locked = {record.pk: record.current for record in records if record.current is not None}
    stock_apply(
        changes=stock_changes, kind=StockMovement.Kind.CORRECTION, reason=reason, user=user, locked=locked
    )
    if created:
        in_use = list(
            referenced_elsewhere(Product.objects.filter(pk__in=[p.pk for p in created])).values_list(
                "sku", flat=True
            )[:10]
        )
        if in_use:
            raise UndoRefused(
                f"Products created by this change set are on {protectors_text(Product)} since and can't be "
                f"removed: {', '.join(in_use)}. Nothing was changed."
            )
        ids = [p.pk for p in created]
        delete_with_history(ProductImage.objects.filter(product_id__in=ids), reason=reason, user=user)
        ledger_purge(product_ids=ids)
        delete_with_history(created, reason=reason, user=user)
    if deleted:
        revived = [row.instance for row in deleted]
        stocks = {product.pk: product.stock for product in revived}
        for product in revived:
            product.stock = 0
        Product.objects.bulk_create(revived)
        history_bulk_record(revived, reason=reason, user=user, history_type="+")
        stock_apply(changes=stocks, kind=StockMovement.Kind.CORRECTION, reason=reason, user=user)
