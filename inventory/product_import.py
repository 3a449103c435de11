"""Products as an importable resource, keyed by SKU: the fast path of the import engine.

Per batch: one query for the products of its SKUs (``= ANY(array)``), categories from an index read
once, new products by COPY with their history and the ledger's opening movement (``stock_open``),
changed fields by ``bulk_update`` with one bulk history write, and one ``stock_apply`` for the stock
the file sets on existing products. Stock is *set*, not added: running a file again changes nothing.
"""

import uuid

from django.utils import timezone
from django.utils.text import slugify

from audit.recording import history_bulk_record
from core.bulk import copy_rows
from core.lookups import one_of
from imports.cells import CellError, checked_text, count, parse_flag, parse_price, text
from imports.engine import Update
from imports.readers import printable
from imports.spec import Column, ImportSpec

from .models import Product, StockMovement, normalise_sku
from .selectors import CategoryIndex
from .services import catalogue_cache_clear, stock_apply, stock_open


def parse_sku(value) -> str:
    return normalise_sku(checked_text(value, max_length=64, what="a sku"))


class ProductImport(ImportSpec):
    name = "products"
    label = "Products"
    model = Product
    key = "sku"
    key_label = "SKU"
    permissions = ("inventory.import_product",)
    view_permission = "inventory.view_product"
    columns = (
        Column("sku", parse=parse_sku, required=True, missing="is empty: every product needs a SKU"),
        Column("name", parse=text(max_length=200, what="a name"), required=True),
        Column(
            "category",
            parse="category_id",
            attribute="category_id",
            required=True,
            missing="is empty: give the category's slug (phones) or path (Electronics/Phones)",
            aliases=("category_slug", "category_path"),
        ),
        Column("price", parse=parse_price, required=True),
        # Stock goes through the ledger: the file sets it, the ledger gets the difference.
        Column("stock", parse=count(what="stock")),
        Column("low_stock_threshold", parse=count(what="a threshold"), aliases=("low_stock",)),
        Column("is_published", parse=parse_flag, aliases=("published",)),
        Column("is_featured", parse=parse_flag, aliases=("featured",)),
        Column("description", parse=text(max_length=20_000, what="a description")),
    )

    def __init__(self):
        super().__init__()
        self.categories = CategoryIndex()

    def category_id(self, value) -> int:
        reference = checked_text(value, max_length=1000, what="a category")
        found = self.categories.find(reference)
        if found is None:
            raise CellError(
                f"no category has the slug or path “{printable(reference)}”: create it first, or use an "
                "existing one's slug (phones) or path (Electronics/Phones)"
            )
        return found

    def show(self, column: str, value) -> str:
        if column == "category":
            return self.categories.path_of.get(value, str(value))
        return super().show(column, value)

    def new(self, row, *, now=None) -> Product:
        product = super().new(row)
        product.id = uuid.uuid4()
        product.created_at = product.updated_at = now or timezone.now()
        return product

    def write(self, *, creates, updates, reason, user, job) -> int:
        now = timezone.now()
        # How the import's stock movements are described in the ledger.
        ledger = {"kind": StockMovement.Kind.IMPORT, "reason": reason, "user": user, "reference": job}
        created = [self.new(row, now=now) for row in creates]
        if created:
            assign_slugs(created)
            insert_products(created)
            history_bulk_record(created, reason=reason, user=user, history_type="+")
            # New products are written with their stock; the ledger's opening movement accounts for it.
            stock_open(products=created, **ledger)
        stock, changed = {}, []
        for update in updates:
            fields = [change for change in update.changes if change[0] != "stock"]
            for column, old, new in update.changes:
                if column == "stock":
                    stock[update.record.pk] = new - old  # exact: the batch holds the rows' locks
            if fields:
                changed.append(Update(update.record, fields, update.row))
        if changed:
            products = self.apply(changed, now=now)
            fields = sorted({self.columns_by_name[c].field for update in changed for c, *_ in update.changes})
            Product.objects.bulk_update(products, [*fields, "updated_at"], batch_size=1000)
            history_bulk_record(products, reason=reason, user=user, diffs=self.diffs(changed))
        if stock:
            # The ledger: one "import" movement per product whose stock the file sets to a new value.
            stock_apply(changes=stock, **ledger)
        touched = [product.pk for product in created] + [update.record.pk for update in changed]
        catalogue_cache_clear(product_ids=touched)
        return len({*touched, *stock})


def assign_slugs(products: list[Product]) -> None:
    """Unique slugs for new products, with one query per batch (not one per product)."""
    candidates = {}
    for product in products:
        base = slugify(product.name)[:200] or "product"
        candidates[product.pk] = (base, f"{base}-{slugify(product.sku)}"[:220])
    wanted = {slug for pair in candidates.values() for slug in pair}
    taken = set(Product.objects.filter(one_of("slug", wanted)).values_list("slug", flat=True))
    for product in products:
        base, with_sku = candidates[product.pk]
        slug = next(
            (s for s in (base, with_sku) if s not in taken), f"{with_sku[:211]}-{uuid.uuid4().hex[:8]}"
        )
        taken.add(slug)
        product.slug = slug


def insert_products(products: list[Product]) -> None:
    """New products in one COPY (building a 2,000-row INSERT's parameters costs more than the
    database's work)."""
    columns = [field.attname for field in Product._meta.concrete_fields]
    copy_rows(Product, columns, ([getattr(product, name) for name in columns] for product in products))
