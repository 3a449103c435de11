"""Files to import, read as tables: CSV (comma, semicolon or tab; UTF-8), XLSX (the first sheet) and
JSON (a list of objects). CSV and XLSX are streamed, so memory stays flat; every reader can be read
again (an import checks the whole file, then writes it).
"""

import codecs
import csv
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from core.exceptions import DomainError

FORMATS = ("csv", "xlsx", "json")


class ImportFileError(DomainError):
    """The file can't be read as a table: format, encoding, columns."""


@dataclass
class Table:
    """The rows of a file, which can be read more than once (an import checks, then writes)."""

    headers: list[str]
    open_rows: Callable[[], Iterator[Sequence]]
    # The number a person sees for the first data row: 2 in a spreadsheet under its header row, 1 for
    # the first record of a JSON list.
    first_row_number: int = 2

    def rows(self) -> Iterator[tuple[int, Sequence]]:
        """(row number, cells) of every non-blank row."""
        number = self.first_row_number - 1
        iterator = self.open_rows()
        while True:
            number += 1
            try:
                cells = next(iterator)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise ImportFileError(
                    f"Row {number} is not UTF-8 text (byte {error.object[error.start : error.start + 1]!r}): "
                    "save the file as “CSV UTF-8” and import it again. Nothing was imported."
                ) from error
            except csv.Error as error:
                raise ImportFileError(
                    f"Row {number} can't be read as CSV: {error}. Nothing was imported."
                ) from error
            if any(cell is not None and str(cell).strip() for cell in cells):
                yield number, cells


def detect_format(file_name: str, file_format: str | None = None) -> str:
    chosen = (file_format or Path(file_name).suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise ImportFileError(
            f"Can't tell the format of “{Path(file_name).name}”: use a .csv, .xlsx or .json file "
            f"(or name the format: {', '.join(FORMATS)})."
        )
    return chosen


def open_table(path, file_format: str | None = None) -> Table:
    """A ``Table`` over a file on disk, streamed (CSV, XLSX) or loaded (JSON, a list of objects)."""
    path = Path(path)
    kind = detect_format(path.name, file_format)
    if not path.exists():
        raise ImportFileError(f"There is no file {path}.")
    return {"csv": _csv_table, "xlsx": _xlsx_table, "json": _json_table}[kind](path)


def _utf8_lines(path: Path) -> Iterator[str]:
    """The file's lines as text, decoded one by one so a wrong encoding is reported on its line."""
    with path.open("rb") as handle:
        for line_number, raw in enumerate(handle, 1):
            if line_number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = raw[error.start : error.start + 1].hex()
                raise ImportFileError(
                    f"Line {line_number} of the file is not UTF-8 text (byte 0x{byte}): save the file as "
                    "“CSV UTF-8” and import it again. Nothing was imported."
                ) from error


def _csv_table(path: Path) -> Table:
    lines = _utf8_lines(path)
    first_line = next(lines, "")
    lines.close()
    if not first_line.strip():
        raise ImportFileError("The file is empty: the first row must name the columns.")
    # Spreadsheets in many locales save CSV with semicolons.
    delimiter = max(",;\t", key=first_line.count)
    headers = next(csv.reader([first_line], delimiter=delimiter))

    def open_rows():
        reader = csv.reader(_utf8_lines(path), delimiter=delimiter)
        next(reader, None)
        yield from reader

    return Table(headers=headers, open_rows=open_rows)


def _xlsx_table(path: Path) -> Table:
    def workbook():
        try:
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
            raise ImportFileError(
                f"“{path.name}” is not an Excel workbook (.xlsx) that can be read: {error}."
            ) from error

    book = workbook()
    try:
        header_row = next(book.active.iter_rows(max_row=1, values_only=True), None)
    finally:
        book.close()
    if not header_row or not any(header_row):
        raise ImportFileError("The first sheet is empty: its first row must name the columns.")
    headers = ["" if cell is None else str(cell) for cell in header_row]

    def open_rows():
        book = workbook()
        try:
            rows = book.active.iter_rows(values_only=True)
            next(rows, None)
            yield from rows
        finally:
            book.close()

    return Table(headers=headers, open_rows=open_rows)


def _json_table(path: Path) -> Table:
    # A JSON list is read whole (the standard library has no streaming parser): fine for the
    # catalogue files people export and edit; very big files are better sent as CSV.
    try:
        with path.open(encoding="utf-8-sig") as handle:
            records = json.load(handle)
    except UnicodeDecodeError as error:
        raise ImportFileError("The file is not UTF-8 text: save it as UTF-8 and import it again.") from error
    except json.JSONDecodeError as error:
        raise ImportFileError(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from error
    return records_table(records)


def records_table(records) -> Table:
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise ImportFileError('A JSON import is a list of objects, one per row: [{"name": …}, …].')
    headers: dict[str, None] = {}
    for record in records:
        headers.update(dict.fromkeys(record))
    names = list(headers)
    return Table(
        headers=names,
        open_rows=lambda: (tuple(record.get(name) for name in names) for record in records),
        first_row_number=1,
    )
