"""What an app declares to make a model importable: its columns, its key, how a batch is looked up and
how it is written. The engine (``imports.engine``) does the rest the same way for every resource:
reading, checking every row before writing any, repeated keys, preview, batches, history, change set,
job bookkeeping.

An app subclasses ``ImportSpec`` and registers it in its ``AppConfig.ready()``
(``imports.registry.register``). A spec is instantiated once per import, so it may hold what the import
needs to know (an index of categories, read once); ``Column.parse`` may name one of its methods for
cells that need that context.

A column mapping (headers of another shop system -> these columns, ``imports.mapping``) goes in front:
it renames the file's headers to ``Column.name`` before the engine reads them; ``synonyms`` are what it
guesses from, ``example`` and ``help`` what the template file and the mapping page show.
"""

from collections.abc import Callable
from dataclasses import dataclass

from audit.recording import history_bulk_record
from core.lookups import one_of

from .cells import text

KEEP, CLEAR = "keep", "clear"
ANY_TEXT = text(max_length=20_000)  # a column's cells unless it says otherwise


@dataclass(frozen=True)
class Column:
    """One column of a resource's files.

    - ``parse``: the cell -> the value (raises ``cells.CellError``), or the name of a method of the spec;
    - ``attribute``: the model field the value goes to (default: the column's name);
    - ``required``: the file must have the column and every row a value (``missing`` says what to
      write when a cell is empty);
    - ``when_empty``: an empty cell of an optional column ``KEEP``s the record's value (new records get
      the field's default) or ``CLEAR``s it (sets ``empty``);
    - ``aliases``: other headers read as this column without asking (``published`` for
      ``is_published``);
    - ``synonyms``: headers other systems use for it, which the mapping step proposes (``title``,
      ``product name``) and a person confirms;
    - ``example``: a value for the template file; ``help``: what the column holds, in a few words.
    """

    name: str
    parse: Callable | str = ANY_TEXT
    attribute: str = ""
    required: bool = False
    missing: str = "is empty"
    when_empty: str = KEEP
    empty: object = ""
    aliases: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    example: str = ""
    help: str = ""

    @property
    def field(self) -> str:
        return self.attribute or self.name


class ImportRow:
    """A row that passed every check: its number in the file, its key and its values by column name."""

    __slots__ = ("key", "number", "values")

    def __init__(self, number: int, key: str, values: dict):
        self.number, self.key, self.values = number, key, values


class ImportSpec:
    """Declared by an app for one importable model; see the module's docstring."""

    name: str = ""  # the resource's name in jobs and URLs ("products")
    label: str = ""  # what people call it ("Products")
    model = None
    columns: tuple[Column, ...] = ()
    key: str = ""  # the column whose value identifies a record
    key_label: str = ""  # what to call the key in messages ("SKU")
    # Permissions (``app.codename``) needed to import this resource (and retry its jobs), and to read
    # what its files hold (download a job's file).
    permissions: tuple[str, ...] = ()
    view_permission: str = ""
    # The option to create what rows refer to and doesn't exist ("Create missing categories"), when
    # the resource offers one.
    creates_missing: str = ""

    def __init__(self, *, create_missing: bool = False):
        self.columns_by_name = {column.name: column for column in self.columns}
        self.create_missing = create_missing and bool(self.creates_missing)

    def planned(self) -> list[tuple[int, str]]:
        """What the import creates besides its own records (``creates_missing``), once the file is
        checked: (depth, name) in tree order, for the preview ("Clothing", then "Tshirts" below it)."""
        return []

    def parser(self, column: Column) -> Callable:
        return getattr(self, column.parse) if isinstance(column.parse, str) else column.parse

    # -- keys and look-ups --
    def key_of(self, values: dict) -> str:
        return values[self.key]

    def check(self, row: ImportRow) -> list[tuple[str, str]]:
        """Problems of a row that depend on the rest of the file or on the database, as (column,
        message). Called for each row whose cells are valid, in the file's order, while the file is
        checked (a category row makes its path known to the rows after it)."""
        return []

    def find(self, keys: list[str], *, lock: bool = False) -> dict:
        """The records of ``keys`` that exist, by key; locked (in primary-key order, as every writer
        locks several rows) until the batch commits when ``lock``."""
        field = self.columns_by_name[self.key].field
        queryset = self.model.objects.filter(one_of(field, keys))
        if lock:
            queryset = queryset.select_for_update().order_by("pk")
        return {getattr(record, field): record for record in queryset}

    # -- deciding --
    def changes(self, row: ImportRow, record) -> list[tuple[str, object, object]]:
        """(column, old, new) for every value of ``row`` that differs on ``record``."""
        found = []
        for name, value in row.values.items():
            old = getattr(record, self.columns_by_name[name].field)
            if old != value:
                found.append((name, old, value))
        return found

    def show(self, column: str, value) -> str:
        """A value as the preview shows it."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        return "" if value is None else str(value)

    # -- writing (inside the batch's transaction) --
    def new(self, row: ImportRow):
        """An unsaved record for a row whose key is new."""
        return self.model(**{self.columns_by_name[name].field: value for name, value in row.values.items()})

    def write(self, *, creates: list[ImportRow], updates: list, reason: str, user, job) -> int:
        """Write one batch: new records for ``creates``, ``updates`` (``engine.Update``). Returns how
        many records changed. This default suits plain models: bulk writes, each row with its history
        row and audit entry."""
        if creates:
            records = [self.new(row) for row in creates]
            self.model.objects.bulk_create(records)
            history_bulk_record(records, reason=reason, user=user, history_type="+")
        if updates:
            records = self.apply(updates)
            fields = sorted(
                {self.columns_by_name[name].field for update in updates for name, *_ in update.changes}
            )
            self.model.objects.bulk_update(records, fields, batch_size=1000)
            history_bulk_record(records, reason=reason, user=user, diffs=self.diffs(updates))
        return len(creates) + len(updates)

    def apply(self, updates: list, *, now=None) -> list:
        """Set the changed values on the records (and ``updated_at`` to ``now`` when given)."""
        for update in updates:
            for name, _, value in update.changes:
                setattr(update.record, self.columns_by_name[name].field, value)
            if now is not None:
                update.record.updated_at = now
        return [update.record for update in updates]

    def diffs(self, updates: list) -> list[list[str]]:
        """The changed fields of each update, as the audit log names them."""
        return [
            [self.columns_by_name[name].field.removesuffix("_id") for name, *_ in update.changes]
            for update in updates
        ]
