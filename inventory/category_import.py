"""Categories as an importable resource: keyed by slug, or by name in a file without slugs; parents by
slug or path, including categories that earlier rows of the same file create.

Categories are few: a batch is written row by row, in the file's order, so that a row's parent exists
by the time the row is saved; each save writes its history row (and audit entry) with the import's
reason, in the import's change set. Paths may use ``/`` or ``>`` between levels; with "create missing
parent categories", the levels of a parent path that exist nowhere are created first.
"""

from django.core.validators import validate_slug
from django.db.models import Q
from django.db.models.functions import Lower

from imports.cells import CellError, checked_text, text
from imports.readers import printable
from imports.spec import CLEAR, Column, ImportSpec

from .category_paths import MissingCategories, category_reference
from .models import Category
from .selectors import CategoryIndex, category_path_key
from .services import CatalogueError, category_create, category_update

parse_slug = text(
    max_length=140,
    what="a slug",
    lower=True,
    validator=validate_slug,
    invalid="is not a slug: use letters, digits, hyphens and underscores",
)


class CategoryImport(ImportSpec):
    name = "categories"
    label = "Categories"
    model = Category
    key = "slug"
    key_label = "category"
    permissions = ("inventory.add_category", "inventory.change_category")
    view_permission = "inventory.view_category"
    creates_missing = "Create missing parent categories"
    columns = (
        Column(
            "name",
            parse=text(max_length=120, what="a name"),
            required=True,
            synonyms=("category", "category name", "title"),
            example="Lighting",
        ),
        # A file without slugs keeps the categories' slugs (new ones get one made from the name).
        Column("slug", parse=parse_slug, synonyms=("handle", "url key"), example="lighting"),
        # An empty parent makes the category a top-level one.
        Column(
            "parent",
            parse="parent_reference",
            attribute="parent_id",
            when_empty=CLEAR,
            empty=None,
            synonyms=("parent category", "parent path", "parent slug"),
            example="Home",
            help="a slug or a path (Home/Rooms or Home > Rooms); empty for a top-level category",
        ),
        Column(
            "description",
            parse=text(max_length=20_000, what="a description"),
            when_empty=CLEAR,
            synonyms=("body", "body html"),
            example="Lamps and bulbs.",
        ),
    )

    def __init__(self, **options):
        super().__init__(**options)
        self.index = CategoryIndex()
        self.missing = MissingCategories(self.index) if self.create_missing else None
        self.named = set()  # keys that are names (rows without a slug), not slugs
        self.planned_slugs: dict[str, str] = {}  # slug -> path key, of rows checked so far
        self.planned_paths: set[str] = set()
        self.planned_names: dict[str, str] = {}  # name -> the key of the row that has it

    # -- keys --
    def key_of(self, values: dict) -> str:
        if values.get("slug"):
            return values["slug"]
        key = values["name"].lower()
        self.named.add(key)
        return key

    def find(self, keys, *, lock=False) -> dict:
        slugs = [key for key in keys if key not in self.named]
        names = [key for key in keys if key in self.named]
        queryset = Category.objects.annotate(lower_name=Lower("name")).filter(
            Q(slug__in=slugs) | Q(lower_name__in=names)
        )
        if lock:
            queryset = queryset.select_for_update().order_by("pk")
        found = {}
        for category in queryset:
            if category.slug in slugs:
                found[category.slug] = category
            if category.lower_name in names:
                found[category.lower_name] = category
        return found

    # -- cells and rows --
    def parent_reference(self, value) -> str:
        """The parent as the file names it (slug or path), if it exists or an earlier row creates it."""
        reference = category_reference(checked_text(value, max_length=1000, what="a parent"))
        known = (
            self.index.find(reference) is not None
            or reference.lower() in self.planned_slugs
            or category_path_key(reference) in self.planned_paths
        )
        if not known and self.missing is not None:
            self.missing.plan(reference)
            return reference
        if not known:
            raise CellError(
                f"no category has the slug or path “{printable(reference)}”: create it first (in an "
                "earlier row of this file, or in the catalogue)"
            )
        return reference

    def check(self, row) -> list[tuple[str, str]]:
        """Names are unique and a category can't sit below itself; the row's path becomes known to the
        rows after it."""
        values = row.values
        name = values["name"]
        clash = self.planned_names.get(name.lower())
        existing = self.index.by_name.get(name.lower())
        same = self.find_known(row.key)
        if clash is not None and clash != row.key:
            return [("name", f"“{name}” is the name of another row's category: names are unique")]
        if existing is not None and existing != same:
            return [("name", f"“{name}” is the name of another category already: names are unique")]
        if self.missing is not None and name.lower() in self.missing.names:
            return [("name", f"“{name}” is also a parent category this file creates: names are unique")]
        parent = values.get("parent")
        if same is not None and parent and self.index.is_below(self.index.find(parent), same):
            return [
                ("parent", f"“{parent}” is this category or one below it: a category can't sit below itself")
            ]
        parent_path = self._path_of_reference(parent) if parent else ""
        path = category_path_key(f"{parent_path}/{name}" if parent_path else name)
        self.planned_names[name.lower()] = row.key
        self.planned_paths.add(path)
        if values.get("slug"):
            self.planned_slugs[values["slug"]] = path
        return []

    def find_known(self, key: str) -> int | None:
        """The existing category a row's key names (from the index, without a query)."""
        return self.index.by_name.get(key) if key in self.named else self.index.by_slug.get(key)

    def _path_of_reference(self, reference: str) -> str:
        found = self.index.find(reference)
        if found is not None:
            return self.index.path_of[found]
        return self.planned_slugs.get(reference.lower()) or category_path_key(reference)

    def changes(self, row, record) -> list[tuple[str, object, object]]:
        found = []
        for column, value in row.values.items():
            if column == "parent":
                value = self.index.find(value) if value else None
                old = record.parent_id
                if value is None and row.values["parent"]:
                    value = row.values["parent"]  # a parent an earlier row of this batch creates
            else:
                old = getattr(record, column)
            if old != value:
                found.append((column, old, value))
        return found

    def show(self, column: str, value) -> str:
        if column == "parent" and isinstance(value, int):
            return self.index.path_of.get(value, str(value))
        return super().show(column, value)

    def planned(self) -> list[tuple[int, str, bool]]:
        return self.missing.tree() if self.missing is not None else []

    # -- writing --
    def write(self, *, creates, updates, reason, user, job) -> int:
        created = self.missing.create(reason=reason, user=user) if self.missing is not None else 0
        rows = [(row.number, row, None) for row in creates]
        rows += [(update.row.number, update.row, update.record) for update in updates]
        for _, row, category in sorted(rows, key=lambda item: item[0]):
            data = {self.columns_by_name[name].field: value for name, value in row.values.items()}
            if data.get("parent_id"):
                data["parent_id"] = self.index.find(data["parent_id"])  # written by now, if new
            try:
                if category is None:
                    category = category_create(category=Category(**data), reason=reason, user=user)
                else:
                    category_update(category=category, data=data, reason=reason, user=user)
            except CatalogueError as error:
                raise CatalogueError(f"Row {row.number}: {error}") from error
            self.index.add(category)
        return len(rows) + created
