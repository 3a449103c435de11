"""django-import-export resources of the catalogue: the file formats, exports and the admin's preview.

Products import through ``inventory.imports`` (batches, bulk writes, the stock ledger):
``ProductResource.import_data`` delegates to it and hands the admin a ``Result`` it can show.
Categories import through the library itself (few rows), keyed by slug, with history reasons and a
change set like every import.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html
from import_export import fields, resources, widgets
from import_export.results import Error, Result, RowResult

from audit.models import ChangeSet
from audit.recording import change_set_recording
from backoffice.formats import unescape_cell

from . import imports
from .cells import bad_characters
from .models import Category, ImportJob, Product

PREVIEW_ROWS = 500  # rows the admin's preview lists (the counts cover the whole file)


def first_row_number(file_name: str | None) -> int:
    return 1 if (file_name or "").lower().endswith(".json") else 2


class ImportedResource(resources.ModelResource):
    """What the library-driven imports share: the history reason names the file, the import is one
    change set, text cells escaped by our exports come back as they were."""

    # The most characters a text cell takes (model fields check their own max_length too; this bounds
    # text columns, and refuses what the database can't store before it is asked to).
    max_text = 20_000

    def before_import_row(self, row, **kwargs):
        problems = {}
        for key, value in row.items():
            if isinstance(value, str):
                row[key] = unescape_cell(value.strip())
                problem = bad_characters(row[key])
                if problem is None and len(row[key]) > self.max_text:
                    problem = f"is {len(row[key]):,} characters long (at most {self.max_text:,})"
                if problem:
                    problems[str(key)] = [problem]
        if problems:
            raise ValidationError(problems)

    def before_save_instance(self, instance, row, **kwargs):
        instance._change_reason = imports.import_reason(kwargs.get("file_name") or "a file")

    def import_data(self, dataset, dry_run=False, **kwargs):
        file_name = kwargs.get("file_name") or "a file"
        if dry_run:
            result = super().import_data(dataset, dry_run=dry_run, **kwargs)
        else:
            with (
                transaction.atomic(),
                change_set_recording(
                    kind=ChangeSet.Kind.IMPORT, title=f"Imported {file_name}", user=kwargs.get("user")
                ),
            ):
                result = super().import_data(dataset, dry_run=dry_run, **kwargs)
                if result.has_errors() or result.has_validation_errors():
                    transaction.set_rollback(True)
        # Row numbers as the spreadsheet shows them (the header is row 1), like product imports.
        for invalid in result.invalid_rows:
            invalid.number += first_row_number(file_name) - 1
        return result


class CategoryWidget(widgets.Widget):
    """A category given by slug (``phones``) or path (``Electronics/Phones``), from one cached read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = None

    def clean(self, value, row=None, **kwargs):
        text = imports.text_of(value)
        if not text:
            return None
        if self.index is None:
            self.index = imports.CategoryIndex()
        found = self.index.find(text)
        if found is None:
            raise ValueError(f"no category has the slug or path “{text}”")
        return found

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        if self.index is None:
            self.index = imports.CategoryIndex()
        return self.index.path_of.get(value, "")

    def remember(self, category):
        if self.index is not None:
            parent = self.index.path_of.get(category.parent_id)
            path = f"{parent}/{category.name}" if parent else category.name
            self.index.path_of[category.pk] = path
            self.index.by_slug[category.slug.lower()] = category.pk
            self.index.by_path[imports.category_path_key(path)] = category.pk


class CategoryResource(ImportedResource):
    """Categories keyed by slug (or by name when the file has no slug); parents by slug or path."""

    name = fields.Field(attribute="name", column_name="name")
    slug = fields.Field(attribute="slug", column_name="slug")
    parent = fields.Field(attribute="parent_id", column_name="parent", widget=CategoryWidget())
    description = fields.Field(attribute="description", column_name="description")

    class Meta:
        model = Category
        fields = ["name", "slug", "parent", "description"]
        import_id_fields = ["slug"]
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return Category.objects.all()

    def get_instance(self, instance_loader, row):
        slug = imports.text_of(row.get("slug"))
        if slug:
            return Category.objects.filter(slug=slug.lower()).first()
        name = imports.text_of(row.get("name"))
        return Category.objects.filter(name__iexact=name).first() if name else None

    def before_import(self, dataset, **kwargs):
        if "name" not in (dataset.headers or []):
            raise ValueError(
                "A category file needs a name column (optional: slug, parent, description); this one "
                f"has: {', '.join(map(str, dataset.headers or [])) or 'none'}."
            )

    def _check_import_id_fields(self, headers):
        pass  # keyed by slug, or by name where the file gives no slug (checked in before_import)

    def import_instance(self, instance, row, **kwargs):
        if not imports.text_of(row.get("slug")):
            row["slug"] = instance.slug or ""  # a file without slugs keeps (or generates) them
        if "description" in row and row["description"] is None:
            row["description"] = ""
        super().import_instance(instance, row, **kwargs)

    def after_save_instance(self, instance, row, **kwargs):
        # Later rows may name this category as their parent.
        self.fields["parent"].widget.remember(instance)

    def export(self, queryset=None, **kwargs):
        dataset = super().export(queryset=queryset, **kwargs)
        if "parent" in dataset.headers and "name" in dataset.headers:
            # Parents first, so the file imports back in one go.
            dataset = dataset.sort("parent")
        return dataset


class ProductResource(resources.ModelResource):
    """Products keyed by SKU. Export through the library; import through ``inventory.imports``."""

    sku = fields.Field(attribute="sku", column_name="sku")
    name = fields.Field(attribute="name", column_name="name")
    category = fields.Field(attribute="category_id", column_name="category", widget=CategoryWidget())
    price = fields.Field(attribute="price", column_name="price", widget=widgets.DecimalWidget())
    stock = fields.Field(attribute="stock", column_name="stock", widget=widgets.IntegerWidget())
    low_stock_threshold = fields.Field(
        attribute="low_stock_threshold", column_name="low_stock_threshold", widget=widgets.IntegerWidget()
    )
    is_published = fields.Field(
        attribute="is_published", column_name="is_published", widget=widgets.BooleanWidget()
    )
    is_featured = fields.Field(
        attribute="is_featured", column_name="is_featured", widget=widgets.BooleanWidget()
    )
    description = fields.Field(attribute="description", column_name="description")

    class Meta:
        model = Product
        fields = imports.PRODUCT_COLUMNS
        import_id_fields = ["sku"]

    def get_queryset(self):
        return Product.objects.all()

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        """The import service on the rows the library read; its report as a library ``Result``."""
        file_name = kwargs.get("file_name") or "a file"
        all_or_nothing = kwargs.get("all_or_nothing", True)
        table = imports.dataset_table(dataset, first_row_number=first_row_number(file_name))
        try:
            if dry_run:
                report = imports.product_import(
                    table=table,
                    file_name=file_name,
                    user=kwargs.get("user"),
                    dry_run=True,
                    all_or_nothing=all_or_nothing,
                    preview_limit=PREVIEW_ROWS,
                )
            else:
                report = self._import_now(table, file_name, kwargs.get("user"), all_or_nothing)
        except imports.ImportFileError as error:
            if raise_errors:
                raise
            result = ProductImportResult()
            result.append_base_error(Error(error))
            return result
        return ProductImportResult.from_report(report, all_or_nothing=all_or_nothing)

    @staticmethod
    def _import_now(table, file_name, user, all_or_nothing):
        # Outside the admin's confirm step (which keeps the file on an ImportJob, maybe for a worker).
        _, report = imports.product_import_recorded(
            table=table, file_name=file_name, user=user, all_or_nothing=all_or_nothing
        )
        return report


class ProductImportResult(Result):
    """A ``Result`` the library's admin templates show: preview rows, invalid rows, totals."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = None
        self.skipped_invalid_rows = []  # invalid rows an import that skips them leaves out
        self.preview_truncated = False

    @classmethod
    def from_report(cls, report: imports.ImportReport, *, all_or_nothing: bool = True):
        result = cls()
        result.report = report
        result.diff_headers = list(imports.PRODUCT_COLUMNS)
        result.total_rows = report.rows_total
        result.totals[RowResult.IMPORT_TYPE_NEW] = report.created
        result.totals[RowResult.IMPORT_TYPE_UPDATE] = report.updated
        result.totals[RowResult.IMPORT_TYPE_SKIP] = report.unchanged
        result.totals[RowResult.IMPORT_TYPE_INVALID] = report.invalid
        for row in report.preview:
            row_result = RowResult()
            row_result.import_type = row.kind
            row_result.diff = [_cell_html(new, old) for _, new, old in row.cells]
            row_result.object_repr = f"row {row.number}"
            result.append_row_result(row_result)
        result.preview_truncated = len(report.preview) < report.rows_total - report.invalid
        by_row: dict[int, dict] = {}
        for problem in report.problems:
            by_row.setdefault(problem.row, {}).setdefault(problem.field, []).append(problem.message)
        for number, errors in by_row.items():
            cells = {k: imports.text_of(v) for k, v in report.invalid_cells.get(number, {}).items()}
            if all_or_nothing:
                result.append_invalid_row(number, cells, ValidationError(errors))
            else:
                before = len(result.invalid_rows)
                result.append_invalid_row(number, cells, ValidationError(errors))
                result.skipped_invalid_rows.extend(result.invalid_rows[before:])
                del result.invalid_rows[before:]
        return result

    @property
    def rows_to_fix(self) -> str:
        return self.report.rows_to_fix_text() if self.report else ""


def _cell_html(new: str, old: str | None):
    if old is None:
        return new
    return format_html('<del class="text-red-600">{}</del> → <ins class="text-green-700">{}</ins>', old, new)


def resource_for_job(resource: str):
    """The library resource class that imports a background job's file (categories, customers)."""
    if resource == ImportJob.Resource.CATEGORIES:
        return CategoryResource
    if resource == ImportJob.Resource.CUSTOMERS:
        from orders.resources import CustomerResource

        return CustomerResource
    raise ValueError(f"No library resource imports {resource}")
