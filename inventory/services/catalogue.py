"""Writes to the catalogue: products, their images and categories, one at a time (the admin's saves
and deletes) or in bulk (publish, feature), each with a history row whose reason says why.

Stock is not a catalogue field: it changes only through ``inventory.services.stock``.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.conflicts import copy_values, edit_merge, locked_current, rows_merge
from audit.models import ChangeSet
from audit.recording import change_set_recording, delete_with_reason, history_bulk_record, save_with_reason
from audit.versions import Version
from core.deletion import protectors_text, referenced_elsewhere
from core.locking import locked_in_pk_order

from ..models import Category, Product, ProductImage, StockMovement
from .cache import catalogue_cache_clear
from .errors import CatalogueError, validation_message
from .holds import product_set_flag_hold, product_update_hold
from .inputs import product_pk
from .stock import check_quantities, stock_adjust


def _checked(record, *, exclude=()) -> None:
    try:
        record.full_clean(exclude=exclude)
    except ValidationError as error:
        raise CatalogueError(validation_message(error)) from error


def _saved(record, *, data: dict | None = None, user=None, reason: str | None = None):
    """``record`` with ``data`` (field -> value) set, checked (a blank slug is made on save) and saved
    with its reason; ``data`` None saves a new record."""
    for name, value in (data or {}).items():
        setattr(record, name, value)
    _checked(record, exclude=["slug"] if not getattr(record, "slug", True) else ())
    save_with_reason(record, reason=reason or f"Edited ({', '.join(data or {}) or 'no field'})", user=user)
    return record


def _updated(record, *, data: dict, version: Version | None, user, reason: str | None):
    """``data`` applied on the record as it is now, under its row lock: with the ``version`` a person
    opened, on top of what others saved since (``audit.conflicts.edit_merge``: ``EditConflict`` when
    they changed the same fields, and nothing is written)."""
    with transaction.atomic():
        current = locked_current(record)
        if current is None:
            name = record._meta.verbose_name
            raise CatalogueError(f"This {name} was deleted since it was opened: nothing was saved.")
        _saved(current, data=edit_merge(current, data=data, version=version), user=user, reason=reason)
    copy_values(current, record)
    return current


def _deleted(record, *, blocker: str | None, user, reason: str) -> None:
    """Delete ``record`` with its reason, unless ``blocker`` says what still depends on it."""
    if blocker:
        raise CatalogueError(blocker)
    delete_with_reason(record, reason=reason, user=user)


# --- Products ------------------------------------------------------------------------------------------
def product_create(*, product: Product, stock: int = 0, user=None, reason: str = "Created") -> Product:
    """Save a new product (built, unsaved, by the caller); its opening stock is written to the ledger
    as a receipt."""
    if stock < 0:
        raise CatalogueError("Stock can't be negative.")
    check_quantities([stock])
    product.stock = 0
    with transaction.atomic():
        _saved(product, user=user, reason=reason)
        if stock:
            stock_adjust(
                product=product,
                quantity=stock,
                reason="Opening stock",
                user=user,
                kind=StockMovement.Kind.RECEIPT,
            )
    return product


def product_update(
    *,
    product: Product,
    data: dict,
    user=None,
    reason: str | None = None,
    version: Version | None = None,
    why: str = "",
):
    """Change a product's catalogue fields (``data``: field -> value), on top of what others saved
    since ``version`` (what the person opened). Stock is refused here: it changes through the ledger.

    A price change beyond the shop's approval rule changes nothing yet: the whole edit waits as a change
    request (saying ``why``), which is returned instead of the product.
    """
    if "stock" in data:
        raise CatalogueError("Stock changes through the stock ledger: adjust it instead of editing it.")
    with transaction.atomic():
        held = product_update_hold(
            product=product, data=data, user=user, reason=reason, why=why, version=version
        )
        if held is not None:
            return held
        return _updated(product, data=data, version=version, user=user, reason=reason)


def product_delete(*, product: Product, user=None, reason: str = "Deleted") -> None:
    """Delete a product that never sold and has no stock history (else: unpublish it)."""
    _deleted(product, blocker=product_delete_blocker(product), user=user, reason=reason)


def product_image_save(*, image: ProductImage, user=None, reason: str = "Saved") -> ProductImage:
    _checked(image)
    save_with_reason(image, reason=reason, user=user)
    return image


def product_image_delete(*, image: ProductImage, user=None, reason: str = "Deleted") -> None:
    delete_with_reason(image, reason=reason, user=user)


def product_images_save(
    *, product: Product, changed=(), deleted=(), added=(), user=None, reason: str = "in the admin"
) -> None:
    """A product page's images, all or nothing: ``changed`` and ``deleted`` rows (``RowEdit``s:
    only the fields the person changed, and the version they opened) are locked in primary-key
    order and checked against what others did since; ``added`` ones are new. Every conflict (a row
    changed or deleted by someone else) is raised together, and nothing is written then."""
    with transaction.atomic():
        pks = [edit.pk for edit in [*changed, *deleted]]
        current = {i.pk: i for i in locked_in_pk_order(ProductImage.objects.filter(product=product), pks)}
        updates, deletions = rows_merge(ProductImage, current, changed=changed, deleted=deleted)
        for image, data in updates:
            _saved(image, data=data, user=user, reason=f"Edited {reason} ({', '.join(data) or 'no field'})")
        for image in deletions:
            delete_with_reason(image, reason=f"Deleted {reason}", user=user)
        for image in added:
            image.product = product
            product_image_save(image=image, user=user, reason=f"Saved {reason}")


PRODUCT_FLAGS = {
    "publish": ("is_published", True, "Bulk publish"),
    "unpublish": ("is_published", False, "Bulk unpublish"),
    "feature": ("is_featured", True, "Bulk feature"),
    "unfeature": ("is_featured", False, "Bulk unfeature"),
}


def product_set_flag(*, products, flag: str, user=None, reason: str | None = None, why: str = ""):
    """Publish, unpublish, feature or unfeature products, as one change set.

    Rows already in the wanted state are left alone (no update, no history row). Each changed row
    gets its own history row with the action as the reason. Returns the change set (its
    ``row_count`` says how many changed), or None when nothing needed to change; or, when it would
    change more rows than the shop's rule for bulk actions, the change request (saying ``why``)
    written instead, changing nothing.
    """
    field, value, default_reason = PRODUCT_FLAGS[flag]
    reason = reason or default_reason
    with transaction.atomic():
        to_change = list(
            Product.objects.filter(pk__in=_pks(products))
            .exclude(**{field: value})
            .order_by("pk")
            .select_for_update()
        )
        if not to_change:
            return None  # nothing to change: no change set at all, rather than an empty one
        held = product_set_flag_hold(
            to_change=to_change,
            flag=flag,
            field=field,
            value=value,
            title=default_reason,
            reason=reason,
            user=user,
            why=why,
        )
        if held is not None:
            return held
        with change_set_recording(kind=ChangeSet.Kind.BULK_ACTION, title=reason, user=user) as change_set:
            now = timezone.now()
            Product.objects.filter(pk__in=[p.pk for p in to_change]).update(
                **{field: value, "updated_at": now}
            )
            for product in to_change:
                setattr(product, field, value)
                product.updated_at = now
            history_bulk_record(to_change, reason=reason, user=user, changed_fields=[field])
            catalogue_cache_clear(product_ids=[p.pk for p in to_change])
    return change_set


def _pks(items) -> list:
    return [product_pk(item) for item in items]


# --- Categories --------------------------------------------------------------------------------------
def category_create(*, category: Category, user=None, reason: str = "Created") -> Category:
    """Save a new category (built, unsaved, by the caller); a blank slug is made from its name."""
    return _saved(category, user=user, reason=reason)


def category_update(
    *, category: Category, data: dict, user=None, reason: str | None = None, version: Version | None = None
) -> Category:
    """Change a category's fields (``data``: field -> value), on top of what others saved since
    ``version``; refuses a parent below itself."""
    return _updated(category, data=data, version=version, user=user, reason=reason)


def category_delete(*, category: Category, user=None, reason: str = "Deleted") -> None:
    """Delete a category, refusing while products or sub-categories still depend on it."""
    _deleted(category, blocker=category_delete_blocker(category), user=user, reason=reason)


def category_delete_blocker(category: Category) -> str | None:
    products = category.products.count()
    if products:
        return (
            f"Category “{category.name}” still has {products} product(s): move them to another "
            f"category before deleting it."
        )
    children = category.children.count()
    if children:
        return (
            f"Category “{category.name}” still has {children} sub-categor"
            f"{'y' if children == 1 else 'ies'}: move or delete them first."
        )
    return None


def product_delete_blocker(product: Product) -> str | None:
    """Products with sales (records of other apps that refer to them) or a stock history are kept
    (unpublish them instead)."""
    if referenced_elsewhere(Product.objects.filter(pk=product.pk)).exists():
        return (
            f"{product.name} ({product.sku}) appears on {protectors_text(Product)}: unpublish it instead of "
            "deleting it."
        )
    if product.movements.exists():
        return (
            f"{product.name} ({product.sku}) has stock movements in the ledger: unpublish it instead "
            f"of deleting it."
        )
    return None
