"""A file's rows read through a resource's columns: each row becomes an ``ImportRow`` or the problems a
person has to fix (row number, column, what is wrong)."""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .cells import CellError
from .readers import ImportFileError, printable
from .spec import CLEAR, ImportRow, ImportSpec


@dataclass
class RowProblem:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}

    def __str__(self):
        return f"Row {self.row}, {self.field}: {self.message}"


def column_key(header, aliases: dict[str, str]) -> str:
    """``Low-stock threshold`` -> ``low_stock_threshold``, aliases resolved (``published``)."""
    key = "_".join(str(header or "").strip().lower().replace("-", " ").split())
    return aliases.get(key, key)


def words(header) -> str:
    """``Is featured?`` -> ``is featured``, ``Body (HTML)`` -> ``body html``: headers compared by their
    words, as the mapping step and presets compare them."""
    return " ".join(re.findall(r"[^\W_]+", str(header or "").lower()))


def is_blank(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


class RowReader:
    """Finds the spec's columns among a file's headers (refusing a file without the required ones) and
    reads each row through their parsers."""

    def __init__(self, spec: ImportSpec, headers: Sequence[str]):
        aliases = {alias: column.name for column in spec.columns for alias in column.aliases}
        keys = [column_key(header, aliases) for header in headers]
        repeated = sorted({key for key in keys if key and keys.count(key) > 1})
        if repeated:
            raise ImportFileError(
                f"The column(s) {', '.join(map(printable, repeated))} appear more than once: "
                "keep one of each."
            )
        required = [column.name for column in spec.columns if column.required]
        missing = [name for name in required if name not in keys]
        if missing:
            found = ", ".join(printable(str(header)) for header in headers if str(header).strip()) or "none"
            optional = [column.name for column in spec.columns if not column.required]
            raise ImportFileError(
                f"The file has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}. "
                f"A {spec.label.lower()} file needs the columns {', '.join(required)} (optional: "
                f"{', '.join(optional)}); this one has: {found}. Nothing was imported."
            )
        positions = {key: index for index, key in enumerate(keys) if key in spec.columns_by_name}
        self.ignored_columns = [
            printable(str(header))
            for header, key in zip(headers, keys, strict=True)
            if key and key not in positions
        ]
        self.spec = spec
        self.columns = [
            (column, spec.parser(column), positions[column.name])
            for column in spec.columns
            if column.name in positions
        ]

    def read(self, number: int, cells: Sequence) -> ImportRow | list[RowProblem]:
        # Called twice per row of a file (check, then write): kept free of per-row set-up.
        problems: list[RowProblem] = []
        values: dict[str, object] = {}
        size = len(cells)
        for column, parse, index in self.columns:
            cell = cells[index] if index < size else None
            if is_blank(cell):
                if column.required:
                    problems.append(RowProblem(number, column.name, column.missing))
                elif column.when_empty == CLEAR:
                    values[column.name] = column.empty
                continue  # an empty optional cell keeps the record's value (new ones get the default)
            try:
                values[column.name] = parse(cell)
            except CellError as error:
                problems.append(RowProblem(number, column.name, str(error)))
        if problems:
            return problems
        return ImportRow(number, self.spec.key_of(values), values)
