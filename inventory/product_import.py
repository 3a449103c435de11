"""Products as an importable resource, keyed by SKU: the fast path of the import engine.

Per batch: one query for the products of its SKUs (``= ANY(array)``), categories from an index read
once, new products by COPY with their history and the ledger's opening movement (``stock_open``),
changed fields by ``bulk_update`` with one bulk history write, and one ``stock_apply`` for the stock
the file sets on existing products. Stock is *set*, not added: running a file again changes nothing.

Categories are named by slug or path, with ``/`` or ``>`` between levels (``Clothing > Tshirts``, as
WooCommerce writes them). With "create missing categories", a path that doesn't exist is planned
while the file is checked (the preview shows the new ones as a tree) and created, level by level,
in the first batch's transaction. Pictures given as URLs (``images``) are kept as the product's
images with a URL; a file without that column leaves pictures alone.
"""

import uuid

from django.utils import timezone
from django.utils.text import slugify

from audit.recording import delete_with_history, history_bulk_record
from core.bulk import copy_rows
from core.lookups import one_of
from imports.cells import CellError, checked_text, count, parse_flag, parse_price, text
from imports.engine import Update
from imports.readers import printable
from imports.spec import Column, ImportSpec

from .category_paths import MissingCategories, category_reference, parse_image_urls
from .models import Product, ProductImage, StockMovement, normalise_sku
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
    creates_missing = "Create missing categories"
    columns = (
        Column(
            "sku",
            parse=parse_sku,
            required=True,
            missing="is empty: every product needs a SKU",
            synonyms=(
                "variant sku",
                "article number",
                "item number",
                "product code",
                "item code",
                "reference",
            ),
            example="LAMP-001",
            help="the product's code, unique in the shop",
        ),
        Column(
            "name",
            parse=text(max_length=200, what="a name"),
            required=True,
            synonyms=("title", "product name", "product title", "item name"),
            example="Desk lamp",
        ),
        Column(
            "category",
            parse="category_id",
            attribute="category_id",
            required=True,
            missing="is empty: give the category's slug (phones) or path (Electronics/Phones)",
            aliases=("category_slug", "category_path"),
            synonyms=("categories", "product type", "collection", "department"),
            example="Home > Lighting",
            help="a slug (lighting) or a path (Home/Lighting or Home > Lighting)",
        ),
        Column(
            "price",
            parse=parse_price,
            required=True,
            synonyms=("regular price", "unit price", "retail price", "variant price", "selling price"),
            example="49.90",
        ),
        # Stock goes through the ledger: the file sets it, the ledger gets the difference.
        Column(
            "stock",
            parse=count(what="stock"),
            synonyms=("quantity", "qty", "stock quantity", "inventory", "on hand", "variant inventory qty"),
            example="12",
            help="units in stock (the ledger records the difference)",
        ),
        Column(
            "low_stock_threshold",
            parse=count(what="a threshold"),
            aliases=("low_stock",),
            synonyms=("low stock amount", "reorder level", "reorder point", "minimum stock"),
            example="5",
        ),
        Column(
            "is_published",
            parse=parse_flag,
            aliases=("published",),
            synonyms=("active", "visible", "online", "enabled"),
            example="yes",
        ),
        Column(
            "is_featured",
            parse=parse_flag,
            aliases=("featured",),
            synonyms=("is featured", "featured product", "highlight"),
            example="no",
        ),
        Column(
            "description",
            parse=text(max_length=20_000, what="a description"),
            synonyms=("body", "body html", "long description", "product description", "details"),
            example="A brass desk lamp.",
            help="text, HTML kept as written",
        ),
        Column(
            "images",
            parse="image_urls",
            attribute="image_urls",
            synonyms=("image", "image src", "image url", "image urls", "pictures", "photos"),
            example="https://example.com/lamp.jpg, https://example.com/lamp-2.jpg",
            help="picture URLs, separated by commas",
        ),
    )

    def __init__(self, **options):
        super().__init__(**options)
        self.categories = CategoryIndex()
        self.missing = MissingCategories(self.categories) if self.create_missing else None
        self.with_images = False  # the file has pictures: each batch reads its products' URL images

    def category_id(self, value) -> int | str:
        reference = category_reference(checked_text(value, max_length=1000, what="a category"))
        found = self.categories.find(reference)
        if found is not None:
            return found
        if self.missing is not None:
            return self.missing.plan(reference)  # its path: created before the first batch is written
        raise CellError(
            f"no category has the slug or path “{printable(reference)}”: create it first, use an existing "
            "one's slug (phones) or path (Electronics/Phones), or choose “Create missing categories”"
        )

    def image_urls(self, value) -> tuple[str, ...]:
        self.with_images = True
        return parse_image_urls(value)

    def planned(self) -> list[tuple[int, str, bool]]:
        return self.missing.tree() if self.missing is not None else []

    def show(self, column: str, value) -> str:
        if column == "category":
            if isinstance(value, str):
                return f"{self.missing.shown(value)} (new)"
            return self.categories.path_of.get(value, str(value))
        if column == "images":
            return ", ".join(value)
        return super().show(column, value)

    def find(self, keys, *, lock=False) -> dict:
        found = super().find(keys, lock=lock)
        if self.with_images and found:
            urls: dict = {}
            pictures = ProductImage.objects.filter(product__in=list(found.values()), image="")
            for product_id, url in pictures.order_by("position", "id").values_list("product_id", "url"):
                urls.setdefault(product_id, []).append(url)
            for product in found.values():
                product.image_urls = tuple(urls.get(product.pk, ()))
        return found

    def new(self, row, *, now=None) -> Product:
        values = {
            self.columns_by_name[name].field: value for name, value in row.values.items() if name != "images"
        }
        product = Product(**values)
        product.id = uuid.uuid4()
        product.created_at = product.updated_at = now or timezone.now()
        return product

    def write(self, *, creates, updates, reason, user, job) -> int:
        now = timezone.now()
        # How the import's stock movements are described in the ledger.
        ledger = {"kind": StockMovement.Kind.IMPORT, "reason": reason, "user": user, "reference": job}
        new_categories = self.missing.create(reason=reason, user=user) if self.missing is not None else 0
        self._resolve_categories(creates, updates)
        created = [self.new(row, now=now) for row in creates]
        if created:
            assign_slugs(created)
            insert_products(created)
            history_bulk_record(created, reason=reason, user=user, history_type="+")
            # New products are written with their stock; the ledger's opening movement accounts for it.
            stock_open(products=created, **ledger)
        pictures = {
            product.pk: row.values["images"]
            for product, row in zip(created, creates, strict=True)
            if row.values.get("images")
        }
        stock, changed = {}, []
        for update in updates:
            fields = [change for change in update.changes if change[0] not in ("stock", "images")]
            for column, old, new in update.changes:
                if column == "stock":
                    stock[update.record.pk] = new - old  # exact: the batch holds the rows' locks
                elif column == "images":
                    pictures[update.record.pk] = new
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
        if pictures:
            replace_url_images(pictures, reason=reason, user=user)
        touched = [product.pk for product in created] + [update.record.pk for update in changed]
        catalogue_cache_clear(product_ids=[*touched, *pictures])
        return len({*touched, *stock, *pictures}) + new_categories

    def _resolve_categories(self, creates, updates) -> None:
        """Rows parsed before the missing categories were created name them by path: now by id."""
        if self.missing is None:
            return
        for row in creates:
            if isinstance(row.values.get("category"), str):
                row.values["category"] = self.missing.created_id(row.values["category"])
        for index, update in enumerate(updates):
            changes = [
                (
                    column,
                    old,
                    self.missing.created_id(new) if column == "category" and isinstance(new, str) else new,
                )
                for column, old, new in update.changes
            ]
            updates[index] = Update(update.record, changes, update.row)


def replace_url_images(pictures: dict, *, reason: str, user) -> None:
    """Each product's pictures with a URL become the ones given (uploaded pictures stay), with history."""
    old = list(ProductImage.objects.filter(product_id__in=list(pictures), image=""))
    delete_with_history(old, reason=reason, user=user)
    new = [
        ProductImage(product_id=product_id, url=url, position=position)
        for product_id, urls in pictures.items()
        for position, url in enumerate(urls)
    ]
    ProductImage.objects.bulk_create(new)
    history_bulk_record(new, reason=reason, user=user, history_type="+")


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
