"""Product imports, fast, and the import jobs that run them (in the request, or on a Celery worker).

A product file is read as a stream, in batches of ``BATCH_SIZE`` rows. Per batch: one query for the
products of its SKUs, categories from a cache built once, then ``bulk_create``/``bulk_update``, one
bulk history write (``history_bulk_record``), one ``stock_apply`` call for the stock differences of
existing products and ``stock_open`` for the opening stock of new ones.
(django-import-export's default path costs ~5 queries and a history row written alone per row.)

An import reads the file twice:

1. **Check** every row (no database writes). With ``all_or_nothing`` (the default) one invalid row
   stops the import here: nothing is written and the report names every row to fix.
2. **Write**, one transaction per batch. Products are keyed by SKU and stock is *set* (the ledger gets
   the difference), so running a file again changes nothing: a job that stopped half-way (its worker
   died) is retried without duplicates, and unchanged rows are skipped. Job progress and heartbeat
   are committed with each batch, so the admin's progress bar moves while the job runs.
"""

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from itertools import batched
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, F, Lookup, Q, Value
from django.utils import timezone
from django.utils.text import slugify

from audit.models import ChangeSet
from audit.recording import history_bulk_record, recording_change_set
from backoffice.bulk import copy_rows
from backoffice.exceptions import DomainError
from backoffice.tables import (  # noqa: F401 (importable from here)
    FORMATS,
    ImportFileError,
    Table,
    dataset_table,
    detect_format,
    open_table,
    printable,
    records_table,
)
from backoffice.tenancy import current_tenant

from .cells import (  # noqa: F401 (importable from here)
    CellError,
    bad_characters,
    checked_text,
    parse_count,
    parse_flag,
    parse_price,
    text_of,
)
from .models import Category, ImportJob, Product, StockMovement, normalise_sku
from .services import catalogue_cache_clear, stock_apply, stock_open
from .signals import import_job_finished

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
MAX_PROBLEMS = 1000  # problems kept for the report (all of them are counted)


class ImportRefused(DomainError):
    pass


class ImportBusy(ImportRefused):
    """Another import into the same shop is running (imports of one shop take turns)."""


class JobTakenOver(Exception):
    """The job is no longer this run's: marked failed as stale, or picked up by another attempt."""


def import_reason(file_name: str) -> str:
    return f"Imported from {file_name}"


# Files are read by backoffice.tables and cells by inventory.cells (both bounded); their names stay
# importable from here.
# --- Columns and categories -----------------------------------------------------------------------
PRODUCT_COLUMNS = [
    "sku",
    "name",
    "category",
    "price",
    "stock",
    "low_stock_threshold",
    "is_published",
    "is_featured",
    "description",
]
REQUIRED_COLUMNS = ["sku", "name", "category", "price"]
COLUMN_ALIASES = {
    "published": "is_published",
    "featured": "is_featured",
    "low_stock": "low_stock_threshold",
    "category_slug": "category",
    "category_path": "category",
}


def column_key(header) -> str:
    key = "_".join(str(header or "").strip().lower().replace("-", " ").split())
    return COLUMN_ALIASES.get(key, key)


def category_path_key(text: str) -> str:
    return "/".join(part.strip().lower() for part in text.split("/") if part.strip())


class CategoryIndex:
    """Every category by slug and by path (``Electronics/Phones``), read in one query."""

    def __init__(self):
        rows = list(Category.objects.values_list("pk", "name", "slug", "parent_id"))
        by_id = {pk: (name, parent_id) for pk, name, _, parent_id in rows}
        self.path_of: dict[int, str] = {}
        for pk in by_id:
            names, node, seen = [], pk, set()
            while node is not None and node not in seen:
                seen.add(node)
                name, parent_id = by_id[node]
                names.append(name)
                node = parent_id
            self.path_of[pk] = "/".join(reversed(names))
        self.by_slug = {slug.lower(): pk for pk, _, slug, _ in rows}
        self.by_path = {category_path_key(path): pk for pk, path in self.path_of.items()}

    def find(self, text: str) -> int | None:
        if "/" in text:
            return self.by_path.get(category_path_key(text))
        return self.by_slug.get(text.lower()) or self.by_path.get(category_path_key(text))


class RepeatedKeys:
    """Rows whose SKU an earlier row of the file has too, found by the database.

    The file's (SKU, row) pairs go to a temporary table of this connection while the file is checked,
    then one query groups them: a set of a million SKUs in Python would take ~100 MB, so memory would
    grow with the file. The table is dropped when the import ends.
    """

    def __init__(self):
        self.table = f"import_keys_{uuid.uuid4().hex[:16]}"
        self.count = 0

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} (sku varchar(64) NOT NULL, row_number integer NOT NULL)"
            )
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}_repeats")
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def add(self, pairs):
        pairs = list(pairs)
        if not pairs:
            return
        with (
            connection.cursor() as cursor,
            cursor.connection.cursor().copy(f"COPY {self.table} (sku, row_number) FROM STDIN") as copy,
        ):
            for pair in pairs:
                copy.write_row(pair)

    def find(self) -> int:
        """Group the SKUs once; the repeating rows are kept in a second small table."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table}_repeats AS "  # noqa: S608
                f"SELECT k.row_number, k.sku, f.first_row FROM {self.table} k JOIN "
                f"(SELECT sku, MIN(row_number) AS first_row FROM {self.table} GROUP BY sku "
                f"HAVING COUNT(*) > 1) f ON f.sku = k.sku WHERE k.row_number > f.first_row"
            )
            cursor.execute(f"SELECT COUNT(*) FROM {self.table}_repeats")  # noqa: S608
            self.count = cursor.fetchone()[0]
        return self.count

    def first(self, limit: int) -> list[tuple[int, str, int]]:
        """(row, SKU, the first row with that SKU) of the first ``limit`` repeating rows."""
        if not self.count:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number, sku, first_row FROM {self.table}_repeats ORDER BY row_number LIMIT %s",  # noqa: S608
                [limit],
            )
            return cursor.fetchall()

    def among(self, low: int, high: int) -> set[int]:
        """The repeating rows numbered from ``low`` to ``high``."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number FROM {self.table}_repeats WHERE row_number BETWEEN %s AND %s",  # noqa: S608
                [low, high],
            )
            return {number for (number,) in cursor.fetchall()}


# --- Rows -----------------------------------------------------------------------------------------
@dataclass
class RowProblem:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}

    def __str__(self):
        return f"Row {self.row}, {self.field}: {self.message}"


# Product fields an import sets (stock apart: it goes through the ledger).
FIELD_ATTRS = {
    "name": "name",
    "category": "category_id",
    "price": "price",
    "low_stock_threshold": "low_stock_threshold",
    "is_published": "is_published",
    "is_featured": "is_featured",
    "description": "description",
}


class ProductRow:
    __slots__ = ("number", "sku", "stock", "values")

    def __init__(self, number: int, sku: str, values: dict, stock: int | None):
        self.number, self.sku, self.values, self.stock = number, sku, values, stock

    def changes(self, product: Product) -> list[tuple[str, object, object]]:
        """(column, old, new) for every value this row changes on ``product`` (stock apart)."""
        return [
            (column, getattr(product, FIELD_ATTRS[column]), value)
            for column, value in self.values.items()
            if getattr(product, FIELD_ATTRS[column]) != value
        ]


# The most characters each text column takes (the model's max_length; a category's slug or path; a
# description is a text column, bounded so that one cell can't hold a whole file).
TEXT_LIMITS = {"sku": 64, "name": 200, "category": 1000, "description": 20_000}

OPTIONAL_PARSERS = (
    ("stock", lambda value: parse_count(value, what="stock")),
    ("low_stock_threshold", lambda value: parse_count(value, what="a threshold")),
    ("is_published", parse_flag),
    ("is_featured", parse_flag),
)


class ProductRowReader:
    """Turns the cells of a row into a ``ProductRow``, or the problems a person has to fix."""

    def __init__(self, headers: Sequence[str], categories: CategoryIndex):
        keys = [column_key(header) for header in headers]
        repeated = sorted({key for key in keys if key and keys.count(key) > 1})
        if repeated:
            raise ImportFileError(
                f"The column(s) {', '.join(map(printable, repeated))} appear more than once: "
                "keep one of each."
            )
        missing = [column for column in REQUIRED_COLUMNS if column not in keys]
        if missing:
            found = ", ".join(printable(str(header)) for header in headers if str(header).strip()) or "none"
            raise ImportFileError(
                f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
                f"A product file needs the columns {', '.join(REQUIRED_COLUMNS)} (optional: "
                f"{', '.join(c for c in PRODUCT_COLUMNS if c not in REQUIRED_COLUMNS)}); "
                f"this one has: {found}. Nothing was imported."
            )
        self.positions = {key: index for index, key in enumerate(keys) if key in PRODUCT_COLUMNS}
        self.ignored_columns = [
            printable(str(header))
            for header, key in zip(headers, keys, strict=True)
            if key and key not in self.positions
        ]
        self.categories = categories

    def cells(self, cells: Sequence) -> dict[str, object]:
        return {
            column: cells[index] if index < len(cells) else None for column, index in self.positions.items()
        }

    def read(self, number: int, cells: Sequence) -> ProductRow | list[RowProblem]:
        # Called twice per row of a file (check, then write): kept free of per-row set-up.
        raw = self.cells(cells)
        problems: list[RowProblem] = []
        values: dict[str, object] = {}

        sku = normalise_sku(self._text(raw, "sku", number, problems) or "")
        if not sku and not problems:
            problems.append(RowProblem(number, "sku", "is empty: every product needs a SKU"))

        name = self._text(raw, "name", number, problems)
        if name == "":
            problems.append(RowProblem(number, "name", "is empty"))
        values["name"] = name

        category = self._text(raw, "category", number, problems)
        if category == "":
            problems.append(
                RowProblem(
                    number,
                    "category",
                    "is empty: give the category's slug (phones) or path (Electronics/Phones)",
                )
            )
        elif category is not None:
            category_id = self.categories.find(category)
            if category_id is None:
                problems.append(
                    RowProblem(
                        number,
                        "category",
                        f"no category has the slug or path “{printable(category)}”: create it first, or use "
                        "an existing one's slug (phones) or path (Electronics/Phones)",
                    )
                )
            values["category"] = category_id

        if text_of(raw["price"]) == "":
            problems.append(RowProblem(number, "price", "is empty"))
        else:
            try:
                values["price"] = parse_price(raw["price"])
            except CellError as error:
                problems.append(RowProblem(number, "price", str(error)))

        stock = None
        for column, parse in OPTIONAL_PARSERS:
            # An empty optional cell keeps the product's value (new products get the default).
            if column not in raw or text_of(raw[column]) == "":
                continue
            try:
                parsed = parse(raw[column])
            except CellError as error:
                problems.append(RowProblem(number, column, str(error)))
                continue
            if column == "stock":
                stock = parsed
            else:
                values[column] = parsed
        if "description" in raw:
            description = self._text(raw, "description", number, problems)
            if description:
                values["description"] = description

        if problems:
            return problems
        return ProductRow(number, sku, values, stock)

    @staticmethod
    def _text(raw, column: str, number: int, problems: list) -> str | None:
        """The column's text within its limits, or None with the problem added."""
        try:
            return checked_text(raw[column], max_length=TEXT_LIMITS[column], what=f"a {column}")
        except CellError as error:
            problems.append(RowProblem(number, column, str(error)))
            return None


# --- The import -----------------------------------------------------------------------------------
@dataclass
class PreviewRow:
    """One row as the admin's preview shows it: what it would do, with old -> new for changes."""

    number: int
    kind: str  # "new", "update" or "skip" (unchanged)
    cells: list[tuple[str, str, str | None]]  # (column, new text, old text when it changes)


@dataclass
class ImportReport:
    file_name: str
    dry_run: bool = False
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    invalid_cells: dict[int, dict] = field(default_factory=dict)  # row -> cells, for the first problems
    preview: list[PreviewRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    change_set: ChangeSet | None = None
    written: bool = False

    @property
    def rows_to_fix(self) -> list[int]:
        return sorted({problem.row for problem in self.problems})

    def rows_to_fix_text(self, limit: int = 20) -> str:
        rows = self.rows_to_fix
        text = ", ".join(map(str, rows[:limit]))
        if self.invalid > min(limit, len(rows)):
            text += f" and {self.invalid - min(limit, len(rows))} more"
        return text

    def summary(self) -> str:
        counts = (
            f"{self.created} new, {self.updated} changed, {self.unchanged} unchanged, "
            f"{self.invalid} invalid of {self.rows_total} rows"
        )
        if self.invalid and not self.written:
            rows = self.rows_to_fix_text()
            return f"Nothing was imported: {self.invalid} row(s) are invalid (rows {rows}). {counts}."
        return f"{counts}."


ProgressCallback = Callable[[str, int, int], None]


class ProductImport:
    """Imports one product file. ``run(table)`` checks then writes; ``run(table, dry_run=True)`` only
    says what would happen (new / changed / unchanged / invalid rows)."""

    def __init__(
        self,
        *,
        file_name: str,
        user=None,
        job: ImportJob | None = None,
        all_or_nothing: bool = True,
        batch_size: int | None = None,
        on_progress: ProgressCallback | None = None,
        preview_limit: int = 0,
    ):
        self.file_name = file_name
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.job = job
        self.all_or_nothing = all_or_nothing
        self.batch_size = batch_size or getattr(settings, "IMPORT_BATCH_ROWS", BATCH_SIZE)
        self.on_progress = on_progress or (lambda phase, done, total: None)
        self.preview_limit = preview_limit
        self.reason = import_reason(file_name)

    # -- reading and checking --
    def _valid_rows(self, table: Table, reader: ProductRowReader, report: ImportReport | None):
        """The rows that pass every check; problems go to ``report`` (when given)."""
        for number, cells in table.rows():
            row = reader.read(number, cells)
            if isinstance(row, ProductRow):
                yield number, row
                continue
            if report is not None:
                report.invalid += 1
                if len(report.problems) < MAX_PROBLEMS:
                    report.problems.extend(row)
                    report.invalid_cells[number] = reader.cells(cells)
            yield number, None

    def _batches(self, table, reader, report, repeats: "RepeatedKeys | None" = None):
        """Batches of (rows read, valid rows), rows that repeat an earlier row's SKU left out."""
        for chunk in batched(self._valid_rows(table, reader, report), self.batch_size, strict=False):
            rows = [row for _, row in chunk if row is not None]
            if repeats is not None and repeats.count and rows:
                skip = repeats.among(rows[0].number, rows[-1].number)
                rows = [row for row in rows if row.number not in skip]
            yield len(chunk), rows

    def _check(self, table, reader, report, repeats: "RepeatedKeys", *, progress: bool):
        """Pass 1: every row read and checked, nothing written; a SKU may have one row only."""
        for read, rows in self._batches(table, reader, report):
            repeats.add((row.sku, row.number) for row in rows)
            report.rows_total += read
            if progress:
                self.on_progress("checking", report.rows_total, 0)
            forget_logged_queries()
        repeats.find()
        for number, sku, first in repeats.first(MAX_PROBLEMS):
            report.problems.append(
                RowProblem(number, "sku", f"{sku} is on row {first} too: give each SKU one row")
            )
            report.invalid_cells.setdefault(number, {"sku": sku})
        report.invalid += repeats.count
        report.problems.sort(key=lambda problem: problem.row)

    def run(self, table: Table, *, dry_run: bool = False) -> ImportReport:
        self.categories = CategoryIndex()
        reader = ProductRowReader(table.headers, self.categories)
        report = ImportReport(
            file_name=self.file_name, dry_run=dry_run, ignored_columns=reader.ignored_columns
        )
        with RepeatedKeys() as repeats:
            # 1. Check every row before writing any.
            self._check(table, reader, report, repeats, progress=not dry_run)
            if dry_run:
                for _, rows in self._batches(table, reader, None, repeats):
                    self._plan(rows, report, preview=True)
                    forget_logged_queries()
                return report
            if report.invalid and self.all_or_nothing:
                return report
            # 2. Write, a transaction per batch.
            self._write_all(table, reader, report, repeats)
        return report

    def _write_all(self, table, reader, report, repeats):
        recorded = JobChangeSet(job=self.job, title=f"Imported {self.file_name}", user=self.user)
        done = 0
        for read, rows in self._batches(table, reader, None, repeats):
            try:
                with transaction.atomic(), recorded.batch() as change_set:
                    changed = self._write(rows, report)
                    if changed:
                        ChangeSet.objects.filter(pk=change_set.pk).update(row_count=F("row_count") + changed)
                    done += read
                    self.on_progress("importing", done, report.rows_total)
            except IntegrityError as error:
                # Another writer (a person in the admin) created one of these SKUs meanwhile; imports
                # themselves take turns (shop_import_lock). The batch was rolled back.
                raise ImportRefused(
                    f"Rows {rows[0].number} to {rows[-1].number} clash with products created meanwhile by "
                    "someone else; nothing of these rows was written. Import the file again: rows already "
                    "imported are found by their SKU and left as they are."
                ) from error
            forget_logged_queries()
        report.written = True
        report.change_set = recorded.finish(count_entries=False)

    # -- deciding and writing --
    def _plan(self, rows: list[ProductRow], report: ImportReport, *, lock=False, preview=False):
        """What each row does to the products of its SKU: (creates, updates + their changes, stock
        differences of existing products; new ones are created with their stock)."""
        queryset = Product.objects.filter(one_of("sku", [row.sku for row in rows]))
        if lock:
            # In primary-key order, as every writer of several products locks them (no deadlocks);
            # held until the batch commits, so the stock difference is exact.
            queryset = queryset.select_for_update().order_by("pk")
        existing = {product.sku: product for product in queryset}
        creates: list[tuple[ProductRow, Product]] = []
        updates: list[tuple[Product, list]] = []
        stock: dict = {}
        for row in rows:
            product = existing.get(row.sku)
            if product is None:
                report.created += 1
                new = self._new_product(row)
                creates.append((row, new))
                if preview:
                    self._preview(report, row, "new", [])
                continue
            changes = row.changes(product)
            delta = row.stock - product.stock if row.stock is not None else 0
            if changes or delta:
                report.updated += 1
                if changes:
                    updates.append((product, changes))
                if delta:
                    stock[product.pk] = delta
                if preview:
                    if delta:
                        changes = [*changes, ("stock", product.stock, row.stock)]
                    self._preview(report, row, "update", changes)
            else:
                report.unchanged += 1
                if preview:
                    self._preview(report, row, "skip", [])
        return creates, updates, stock

    def _write(self, rows: list[ProductRow], report: ImportReport) -> int:
        """Writes one batch (inside its transaction); returns how many products it changed."""
        creates, updates, stock = self._plan(rows, report, lock=True)
        now = timezone.now()
        if creates:
            products = [product for _, product in creates]
            self._assign_slugs(products)
            insert_products(products)
            history_bulk_record(products, reason=self.reason, user=self.user, history_type="+")
            # New products are written with their stock; the ledger's opening movement accounts for it.
            stock_open(products=products, **self._ledger_entry)
        if updates:
            products = []
            for product, changes in updates:
                for column, _, value in changes:
                    setattr(product, FIELD_ATTRS[column], value)
                product.updated_at = now
                products.append(product)
            fields = sorted({FIELD_ATTRS[column] for _, changes in updates for column, _, _ in changes})
            Product.objects.bulk_update(products, [*fields, "updated_at"], batch_size=1000)
            history_bulk_record(
                products,
                reason=self.reason,
                user=self.user,
                diffs=[
                    [FIELD_ATTRS[column].removesuffix("_id") for column, _, _ in changes]
                    for _, changes in updates
                ],
            )
        if stock:
            # The ledger: one "import" movement per product whose stock the file sets to a new value.
            stock_apply(changes=stock, **self._ledger_entry)
        touched = [product.pk for _, product in creates] + [product.pk for product, _ in updates]
        catalogue_cache_clear(product_ids=touched)
        return len({*touched, *stock})

    @property
    def _ledger_entry(self) -> dict:
        """How the import's stock movements are described in the ledger."""
        return {
            "kind": StockMovement.Kind.IMPORT,
            "reason": self.reason,
            "user": self.user,
            "reference": self.job,
        }

    def _new_product(self, row: ProductRow) -> Product:
        now = timezone.now()
        values = row.values
        return Product(
            id=uuid.uuid4(),
            sku=row.sku,
            name=values["name"],
            category_id=values["category"],
            price=values["price"],
            description=values.get("description", ""),
            low_stock_threshold=values.get("low_stock_threshold", 10),
            is_published=values.get("is_published", False),
            is_featured=values.get("is_featured", False),
            stock=row.stock or 0,  # with its opening movement in the ledger (stock_open)
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _assign_slugs(products: list[Product]):
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

    def _preview(self, report: ImportReport, row: ProductRow, kind: str, changes):
        if len(report.preview) >= self.preview_limit:
            return
        old = {column: old for column, old, _ in changes}
        shown = {**row.values, **({"stock": row.stock} if row.stock is not None else {})}
        cells = []
        for column in PRODUCT_COLUMNS:
            if column == "sku":
                cells.append((column, row.sku, None))
                continue
            if column not in shown:
                cells.append((column, "", None))
                continue
            text = self._display(column, shown[column])
            cells.append((column, text, self._display(column, old[column]) if column in old else None))
        report.preview.append(PreviewRow(row.number, kind, cells))

    def _display(self, column, value) -> str:
        if column == "category":
            return self.categories.path_of.get(value, str(value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None else str(value)


def forget_logged_queries():
    """With DEBUG on (``manage.py``, the demo) Django keeps the text of the last 9,000 queries; a
    batch's queries carry thousands of values, so a long import would hold hundreds of MB of them.
    Left alone while something captures queries (tests counting them)."""
    if connection.queries_logged and not connection.force_debug_cursor:
        connection.queries_log.clear()


class EqualsAny(Lookup):
    lookup_name = "equals_any"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def one_of(field: str, values):
    """``field IN values`` as ``= ANY(array)``: one parameter instead of thousands (a 2,000-placeholder
    query costs more to build than to run)."""
    values = list(values)
    return EqualsAny(F(field), Value(values, output_field=ArrayField(CharField())))


def insert_products(products: list[Product]) -> None:
    """New products in one COPY (building a 2,000-row INSERT's parameters costs more than the
    database's work)."""
    columns = [field.attname for field in Product._meta.concrete_fields]
    copy_rows(Product, columns, ([getattr(product, name) for name in columns] for product in products))


def product_import(
    *,
    table: Table,
    file_name: str,
    user=None,
    job: ImportJob | None = None,
    dry_run: bool = False,
    all_or_nothing: bool = True,
    on_progress: ProgressCallback | None = None,
    batch_size: int | None = None,
    preview_limit: int = 0,
) -> ImportReport:
    return ProductImport(
        file_name=file_name,
        user=user,
        job=job,
        all_or_nothing=all_or_nothing,
        on_progress=on_progress,
        batch_size=batch_size,
        preview_limit=preview_limit,
    ).run(table, dry_run=dry_run)


# --- Jobs -----------------------------------------------------------------------------------------
# Imports into one shop take turns: two at once would both plan to create the same SKUs, and the
# second would fail on the unique index half-way. A PostgreSQL advisory lock per shop, held by the
# importing connection for the whole import (released when it ends, or when the connection dies).
IMPORT_LOCK_NAMESPACE = 0x1D0C
REQUEST_LOCK_WAIT = 3.0  # an import confirmed in the admin waits this long, then goes to a worker
COMMAND_LOCK_WAIT = 120.0  # the shell's import waits this long, then says which import runs
WORKER_LOCK_WAIT = 3600.0  # a worker waits (with heartbeats) this long, then fails the job (retry later)
LOCK_POLL_SECONDS = 0.25


@contextmanager
def shop_import_lock(*, wait: float, on_wait: Callable[[], None] | None = None):
    """Hold the open shop's import lock; wait up to ``wait`` seconds for it (calling ``on_wait``
    between tries), else refuse with ``ImportBusy`` naming the import that runs. Re-entrant."""
    import time

    key = [IMPORT_LOCK_NAMESPACE, current_tenant().pk]
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise ImportBusy(_busy_message())
            if on_wait is not None:
                on_wait()
            time.sleep(LOCK_POLL_SECONDS)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def _busy_message() -> str:
    running = ImportJob.objects.filter(status=ImportJob.Status.RUNNING).select_related("user").first()
    which = ""
    if running is not None:
        who = f" by {running.user}" if running.user else ""
        which = f" ({running.file_name}, started {timezone.localtime(running.started_at):%H:%M}{who})"
    return (
        f"Another import into this shop is running{which}; imports of one shop take turns. "
        "Start this one again when it has finished: nothing of it was imported."
    )


class JobChangeSet:
    """The one change set of an import, over all the attempts of its job.

    Created in the transaction of the first batch (a run that fails before writing anything leaves
    no empty change set) and kept on the job in that transaction, so a retry records into the same
    change set: the whole import is undone as one, however many attempts it took.
    """

    def __init__(self, *, job: ImportJob | None, title: str, user=None):
        self.job, self.title, self.user = job, title[:255], user
        self.change_set = None
        if job is not None and job.change_set_id:
            self.change_set = ChangeSet.objects.filter(pk=job.change_set_id).first()

    @contextmanager
    def batch(self):
        """Use inside a batch's transaction: its history records into the change set."""
        if self.change_set is None:
            self.change_set = ChangeSet.objects.create(
                kind=ChangeSet.Kind.IMPORT, title=self.title, user=self.user
            )
            if self.job is not None:
                ImportJob.objects.filter(pk=self.job.pk).update(change_set=self.change_set)
                self.job.change_set = self.change_set
        with recording_change_set(self.change_set):
            yield self.change_set

    def finish(self, *, count_entries: bool) -> ChangeSet | None:
        """The change set once the import is written; deleted (None) when it changed nothing.
        ``count_entries``: count its records from the audit log (else batches counted them)."""
        change_set = self.change_set
        if change_set is None:
            return None
        if count_entries:
            change_set.row_count = (
                change_set.entries.values("content_type_id", "object_id").distinct().count()
            )
            change_set.save(update_fields=["row_count"])
        else:
            change_set.refresh_from_db()
        if not change_set.row_count:
            change_set.delete()  # nothing changed: no empty change set in the list
            return None
        return change_set


def stale_after() -> timedelta:
    """A running job whose heartbeat is older than this has lost its worker."""
    return timedelta(seconds=getattr(settings, "IMPORT_STALE_SECONDS", 120))


def shown_file_name(file_name) -> str:
    """The name a file is shown and recorded by (the stored file is named by the server): no path,
    no control characters."""
    return "".join(ch for ch in Path(str(file_name)).name if ch.isprintable())[:255] or "import"


def import_job_create(*, resource: str, file_name: str, content, file_format: str, user=None) -> ImportJob:
    """Keep the uploaded file with a new queued job (the worker, and any retry, read it from there)."""
    from django.core.files.base import ContentFile, File

    name = shown_file_name(file_name)
    job = ImportJob(
        resource=resource,
        file_name=name,
        file_format=file_format,
        user=user if getattr(user, "is_authenticated", False) else None,
    )
    body = ContentFile(content) if isinstance(content, bytes | str) else File(content)
    job.file.save(name, body, save=False)
    job.save()
    return job


def import_job_start(job: ImportJob, *, rows: int):
    """Run a new job now when the file is small, else hand it to a worker.

    Returns ``(job, report)`` when it ran here, ``(job, None)`` when it was queued.
    """
    if rows > settings.IMPORT_BACKGROUND_ROWS:
        import_job_enqueue(job)
        return job, None
    try:
        with shop_import_lock(wait=REQUEST_LOCK_WAIT):
            report = import_job_run(job.pk)
    except ImportBusy:
        import_job_enqueue(job)  # a worker runs it when the running import has finished
        return job, None
    job.refresh_from_db()
    return job, report


def import_job_enqueue(job: ImportJob) -> None:
    """Queue the job's task once the transaction that created (or re-queued) the job commits."""
    from .tasks import run_import_job

    def send():
        try:
            run_import_job.delay(job.pk, job.tenant_id)
        except Exception as error:  # the broker is down: say so on the job instead of leaving it queued
            logger.exception("Could not queue import job %s", job.pk)
            ImportJob.unscoped.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
                status=ImportJob.Status.FAILED,
                finished_at=timezone.now(),
                error_message=f"The import could not be handed to a worker ({error}). Retry it once the "
                "task queue is back.",
            )

    transaction.on_commit(send)


def _claim(job_id) -> int | None:
    """Mark the job running for this attempt; None if it isn't ours to run (done, failed, or running
    elsewhere with a live heartbeat). A job whose worker died (stale heartbeat) may be taken over."""
    now = timezone.now()
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ImportJob.Status.QUEUED)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - stale_after())
        )
        .update(
            status=ImportJob.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error_message="",
        )
    )
    if not claimed:
        return None
    return ImportJob.objects.values_list("attempts", flat=True).get(pk=job_id)


def _finish(
    job_id,
    attempt: int,
    *,
    status,
    report: ImportReport | None = None,
    message: str = "",
    announce: bool = False,
    **counts,
):
    """Write the job's outcome (if it is still this attempt's); ``announce`` it to the apps that follow
    imports (an e-mail to the person who started a background import)."""
    now = timezone.now()
    # Messages may quote a file: never a character the database refuses (NUL).
    message = message.replace("\x00", "\\x00")
    values = {"status": status, "finished_at": now, "heartbeat_at": now, "error_message": message, **counts}
    if report is not None:
        values.update(
            rows_total=report.rows_total,
            created_count=report.created,
            updated_count=report.updated,
            skipped_count=report.unchanged,
            failed_count=report.invalid,
            error_report=[problem.as_dict() for problem in report.problems],
        )
        if report.written:
            values["rows_processed"] = report.rows_total
    finished = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING, attempts=attempt).update(
        **values
    )
    if finished and announce:
        _announce_finished(job_id)


def _announce_finished(job_id) -> None:
    job = ImportJob.unscoped.get(pk=job_id)
    transaction.on_commit(partial(import_job_finished.send, sender=ImportJob, job=job))


@contextmanager
def local_file(field_file):
    """A path on this machine for a stored file (a temporary copy when the storage is remote)."""
    try:
        yield Path(field_file.path)
        return
    except NotImplementedError:
        pass
    suffix = Path(field_file.name).suffix
    with field_file.open("rb") as source, tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as copy:
        shutil.copyfileobj(source, copy)
    try:
        yield Path(copy.name)
    finally:
        os.unlink(copy.name)


def import_job_run(job_id, *, background: bool = False) -> ImportReport | None:
    """Run (or take over) a job: the Celery task calls this, and the admin for small files.

    Every outcome is written on the job: done with its counts, or failed with the reason (invalid
    rows listed in ``error_report``). Returns the report, or None when the job wasn't this run's.
    A ``background`` job's outcome is announced (``import_job_finished``): nobody is watching its page.
    """
    attempt = _claim(job_id)
    if attempt is None:
        logger.info("Import job %s is not waiting to run: left alone", job_id)
        return None
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    progress = {"done": 0}

    def on_progress(phase, done, total):
        progress["done"] = done if phase == "importing" else 0
        alive = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING, attempts=attempt).update(
            rows_processed=done, rows_total=total, heartbeat_at=timezone.now()
        )
        if not alive:
            raise JobTakenOver

    def heartbeat():
        alive = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING, attempts=attempt).update(
            heartbeat_at=timezone.now()
        )
        if not alive:
            raise JobTakenOver

    try:
        with shop_import_lock(wait=WORKER_LOCK_WAIT, on_wait=heartbeat), local_file(job.file) as path:
            if job.resource == ImportJob.Resource.PRODUCTS:
                report = product_import(
                    table=open_table(path, job.file_format),
                    file_name=job.file_name,
                    user=job.user,
                    job=job,
                    on_progress=on_progress,
                )
            else:
                report = resource_import(job=job, path=path, on_progress=on_progress)
    except JobTakenOver:
        logger.warning("Import job %s was marked failed or taken over while it ran: stopped", job_id)
        return None
    except ImportFileError as error:
        _finish(
            job_id,
            attempt,
            status=ImportJob.Status.FAILED,
            message=str(error),
            rows_processed=0,
            announce=background,
        )
        return None
    except ImportRefused as error:
        _finish(job_id, attempt, status=ImportJob.Status.FAILED, message=str(error))
        return None
    except Exception as error:
        logger.exception("Import job %s stopped", job_id)
        _finish(
            job_id,
            attempt,
            status=ImportJob.Status.FAILED,
            announce=background,
            message=(
                f"The import stopped after {progress['done']} rows: {error}. Rows imported before it are "
                "kept; retry the job to import the rest (rows already imported are found by their key "
                "and not duplicated)."
            ),
        )
        return None
    if report.invalid and not report.written:
        _finish(
            job_id,
            attempt,
            status=ImportJob.Status.FAILED,
            report=report,
            announce=background,
            message=(
                f"{report.invalid} row(s) are invalid, so nothing was imported (all or nothing). Fix rows "
                f"{report.rows_to_fix_text()} and import the file again."
            ),
            rows_processed=0,
        )
    else:
        _finish(job_id, attempt, status=ImportJob.Status.DONE, report=report, announce=background)
    return report


def import_job_retry(*, job: ImportJob, user=None) -> ImportJob:
    """Queue a failed job (or one whose worker died) again. Rows it imported before failing are found
    by their key and left alone, so a retry never duplicates anything."""
    if import_job_is_stale(job):
        import_jobs_fail_stale(ImportJob.objects.filter(pk=job.pk))
        job.refresh_from_db()
    if job.status != ImportJob.Status.FAILED:
        raise ImportRefused(
            f"Only a failed import can be retried; this one is {job.get_status_display().lower()}."
        )
    if not job.file:
        raise ImportRefused(
            "This import's file was not kept (it ran from the command line): run the command again."
        )
    with transaction.atomic():
        requeued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
            status=ImportJob.Status.QUEUED,
            rows_processed=0,
            created_count=0,
            updated_count=0,
            skipped_count=0,
            failed_count=0,
            error_report=[],
            error_message="",
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
        )
        if not requeued:
            raise ImportRefused("This import was retried already.")
        import_job_enqueue(job)
    job.refresh_from_db()
    return job


def import_job_is_stale(job: ImportJob) -> bool:
    """A running job whose worker stopped sending heartbeats (it died): shown as failed at once, and
    marked failed by the next worker that starts, by Celery beat, or when it is retried."""
    return (
        job.status == ImportJob.Status.RUNNING
        and job.heartbeat_at is not None
        and job.heartbeat_at < timezone.now() - stale_after()
    )


def _stale_message(job: ImportJob) -> str:
    return (
        f"The worker running this import stopped answering (last heartbeat "
        f"{timezone.localtime(job.heartbeat_at):%Y-%m-%d %H:%M:%S}) after {job.rows_processed} of "
        f"{job.rows_total or '?'} rows. Rows imported before it are kept; retry the job to import "
        "the rest (they are found by their key and not duplicated)."
    )


def import_jobs_fail_stale(queryset=None) -> int:
    """Mark failed the running jobs whose worker is gone (no heartbeat for ``stale_after()``)."""
    queryset = ImportJob.objects.all() if queryset is None else queryset
    now = timezone.now()
    failed = 0
    for job in queryset.filter(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - stale_after()):
        marked = queryset.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(status=ImportJob.Status.FAILED, finished_at=now, error_message=_stale_message(job))
        if marked:
            _announce_finished(job.pk)
        failed += marked
    return failed


def import_job_progress(job: ImportJob) -> dict:
    """What the job page's progress bar shows (polled as JSON). Reading it changes nothing: a job
    whose worker died shows as failed, and is marked so by a worker, by beat, or by its retry."""
    status, error_message = job.status, job.error_message
    if import_job_is_stale(job):
        status, error_message = ImportJob.Status.FAILED, _stale_message(job)
    status_label = ImportJob.Status(status).label
    if status == ImportJob.Status.RUNNING and not job.rows_total:
        phase = f"Checking the file: {job.rows_processed} rows read"
    elif status == ImportJob.Status.RUNNING:
        phase = f"Importing: {job.rows_processed} of {job.rows_total} rows"
    elif status == ImportJob.Status.QUEUED:
        phase = "Waiting for a worker"
    else:
        phase = status_label
    return {
        "status": status,
        "status_label": status_label,
        "phase": phase,
        "finished": status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
        "rows_total": job.rows_total,
        "rows_processed": job.rows_processed,
        "percent": job.progress_percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.skipped_count,
        "invalid": job.failed_count,
        "error_message": error_message,
    }


# --- Categories and customers: django-import-export's own import, checked then written in batches ----
def resource_import(*, job: ImportJob, path: Path, on_progress: ProgressCallback) -> ImportReport:
    """Categories and customers in a background job: the resource's dry run over the whole file
    first (all or nothing), then its import in batches, each committed with the job's progress."""
    from tablib import Dataset

    from backoffice.formats import FORMATS as FORMAT_CLASSES

    from .resources import resource_for_job

    resource_class = resource_for_job(job.resource)
    format_class = next(f for f in FORMAT_CLASSES if f().get_extension() == job.file_format)
    data = path.read_bytes()
    try:
        dataset = format_class(encoding="utf-8-sig").create_dataset(data)
    except Exception as error:
        raise ImportFileError(
            f"“{job.file_name}” can't be read as {job.file_format.upper()}: {error}."
        ) from error
    report = ImportReport(file_name=job.file_name)
    report.rows_total = len(dataset)
    kwargs = {"file_name": job.file_name, "user": job.user}

    checked = resource_class().import_data(dataset, dry_run=True, **kwargs)
    on_progress("checking", report.rows_total, 0)
    base_errors = [str(error.error) for error in checked.base_errors] + [
        f"Row {number}: {errors[0].error}" for number, errors in checked.row_errors()
    ]
    if base_errors:
        raise ImportFileError(" ".join(base_errors[:5]))
    for invalid in checked.invalid_rows:
        report.invalid += 1
        for column, messages in invalid.error_dict.items():
            for message in messages:
                if len(report.problems) < MAX_PROBLEMS:
                    report.problems.append(RowProblem(invalid.number, column, str(message)))
    if report.invalid:
        return report

    recorded = JobChangeSet(job=job, title=f"Imported {job.file_name}", user=kwargs["user"])
    done = 0
    size = getattr(settings, "IMPORT_BATCH_ROWS", BATCH_SIZE)
    for start in range(0, len(dataset), size):
        chunk = Dataset(*dataset[start : start + size], headers=dataset.headers)
        with transaction.atomic(), recorded.batch():
            result = resource_class().import_data(chunk, dry_run=False, raise_errors=True, **kwargs)
            report.created += result.totals["new"]
            report.updated += result.totals["update"]
            report.unchanged += result.totals["skip"]
            done += len(chunk)
            on_progress("importing", done, report.rows_total)
    report.written = True
    report.change_set = recorded.finish(count_entries=True)
    return report


def count_rows(job: ImportJob) -> int:
    """The non-blank data rows of a job's file (decides request or worker)."""
    with local_file(job.file) as path:
        return sum(1 for _ in open_table(path, job.file_format).rows())


def product_import_recorded(
    *,
    table: Table,
    file_name: str,
    user=None,
    all_or_nothing: bool = True,
    on_progress: ProgressCallback | None = None,
    batch_size: int | None = None,
    lock_wait: float = COMMAND_LOCK_WAIT,
) -> tuple[ImportJob | None, ImportReport]:
    """Import a file that isn't kept (the command line, a program): it still gets its ImportJob, the
    ledger's reference and the admin's record, unless nothing was written (then none is left).
    Waits up to ``lock_wait`` seconds for another import into the shop to finish (``ImportBusy``)."""
    with shop_import_lock(wait=lock_wait):
        return _product_import_recorded(
            table=table,
            file_name=file_name,
            user=user,
            all_or_nothing=all_or_nothing,
            on_progress=on_progress,
            batch_size=batch_size,
        )


def _product_import_recorded(*, table, file_name, user, all_or_nothing, on_progress, batch_size):
    file_name = shown_file_name(file_name)
    job = ImportJob.objects.create(
        resource=ImportJob.Resource.PRODUCTS,
        file_name=file_name,
        file_format=Path(file_name).suffix.lstrip(".").lower()[:10] or "csv",
        status=ImportJob.Status.RUNNING,
        user=user if getattr(user, "is_authenticated", False) else None,
        started_at=timezone.now(),
        attempts=1,
    )
    try:
        report = product_import(
            table=table,
            file_name=file_name,
            user=user,
            job=job,
            all_or_nothing=all_or_nothing,
            on_progress=on_progress,
            batch_size=batch_size,
        )
    except ImportFileError:
        job.delete()
        raise
    except BaseException as error:
        _finish(job.pk, 1, status=ImportJob.Status.FAILED, message=f"The import stopped: {error}")
        raise
    if not report.written:
        job.delete()
        return None, report
    _finish(job.pk, 1, status=ImportJob.Status.DONE, report=report)
    job.refresh_from_db()
    return job, report
