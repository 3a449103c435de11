"""Reading files to import (CSV and other delimited text, XLSX, JSON) into tables, the same way
everywhere: the admin's preview, the import itself, a worker's run, the command line. CSV and XLSX are
streamed, so memory stays flat; every table can be read again (an import checks the whole file, then
writes it).

Whatever a file holds, reading it ends in a table or in ``ImportFileError`` with a sentence a person
can act on, in time proportional to its size: encodings and delimiters as spreadsheets save them
(``imports.text_files``), JSON nested without end, numbers of any length, cells that are lists or
objects, damaged workbooks. Cells are not interpreted here (``imports.cells``); they are the file's
text, or a workbook's or a JSON file's plain values.
"""

import json
import zipfile
from contextlib import contextmanager
from pathlib import Path

import openpyxl

from .tables import ImportFileError, SetAside, Table, checked_headers, printable
from .text_files import csv_table

__all__ = ["FORMATS", "ImportFileError", "SetAside", "Table", "detect_format", "open_table", "printable"]

FORMATS = ("csv", "xlsx", "json")
# Delimited text saved under other names: Excel's "Unicode text" is a tab-separated .txt.
TEXT_SUFFIXES = {"csv": "csv", "txt": "csv", "tsv": "csv", "tab": "csv"}
MAX_NUMBER_DIGITS = 40  # longer integers in JSON stay text: no cell of ours holds more


def detect_format(file_name: str, file_format: str | None = None) -> str:
    suffix = Path(file_name).suffix.lstrip(".").lower()
    chosen = (file_format or TEXT_SUFFIXES.get(suffix, suffix)).lower()
    if chosen not in FORMATS:
        raise ImportFileError(
            f"Can't tell the format of “{printable(Path(file_name).name)}”: use a .csv (or tab-separated "
            f".txt), .xlsx or .json file (or name the format: {', '.join(FORMATS)})."
        )
    return chosen


def open_table(
    path, file_format: str | None = None, *, encoding: str | None = None, delimiter: str | None = None
) -> Table:
    """A ``Table`` over a file on disk, streamed (CSV, XLSX) or loaded (JSON, a list of objects); a
    text file's ``encoding`` and ``delimiter`` are detected unless given."""
    path = Path(path)
    kind = detect_format(path.name, file_format)
    if not path.exists():
        raise ImportFileError(f"There is no file {path}.")
    if kind == "csv":
        return csv_table(path, encoding=encoding or None, delimiter=delimiter or None)
    return {"xlsx": _xlsx_table, "json": _json_table}[kind](path)


# --- XLSX -----------------------------------------------------------------------------------------
def _xlsx_table(path: Path) -> Table:
    @contextmanager
    def workbook():
        # Opened as a file, not by its name: uploads are kept under names without an extension,
        # which openpyxl would refuse.
        with path.open("rb") as handle:
            book = _load_workbook(handle)
            try:
                yield book
            finally:
                book.close()

    def _load_workbook(handle):
        try:
            return openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except zipfile.BadZipFile as error:
            raise ImportFileError(
                f"“{printable(path.name)}” is not an Excel workbook (.xlsx): {printable(str(error))}."
            ) from error
        except Exception as error:  # a damaged workbook fails anywhere in openpyxl's XML parsing
            raise ImportFileError(
                f"“{printable(path.name)}” is not an Excel workbook (.xlsx) that can be read "
                f"({type(error).__name__}: {printable(str(error))})."
            ) from error

    def sheet_rows(book):
        try:
            sheet = book.active
            if sheet is None or not hasattr(sheet, "iter_rows"):
                raise ImportFileError("The workbook has no sheet of cells to import.")
            yield from sheet.iter_rows(values_only=True)
        except ImportFileError:
            raise
        except Exception as error:
            raise ImportFileError(
                f"The workbook can't be read past its damaged part: {printable(str(error))}."
            ) from error

    with workbook() as book:
        header_row = next(sheet_rows(book), None)
    if not header_row or not any(cell is not None and str(cell).strip() for cell in header_row):
        raise ImportFileError("The first sheet is empty: its first row must name the columns.")
    headers = checked_headers(header_row)
    width = len(headers)

    def open_rows():
        with workbook() as book:
            rows = sheet_rows(book)
            next(rows, None)
            for cells in rows:
                yield cells[:width]

    return Table(headers=headers, open_rows=open_rows)


# --- JSON -----------------------------------------------------------------------------------------
def _bounded_int(text: str):
    # Python's int() of a very long digit string is slow (and refused past 4,300 digits): such a
    # number is kept as its text, which the cell's own limits then refuse.
    return int(text) if len(text) <= MAX_NUMBER_DIGITS else text


def _json_table(path: Path) -> Table:
    # A JSON list is read whole (the standard library has no streaming parser): fine for the
    # catalogue files people export and edit; very big files are better sent as CSV.
    try:
        with path.open(encoding="utf-8-sig") as handle:
            records = json.load(handle, parse_int=_bounded_int, parse_constant=str)
    except UnicodeDecodeError as error:
        raise ImportFileError("The file is not UTF-8 text: save it as UTF-8 and import it again.") from error
    except json.JSONDecodeError as error:
        raise ImportFileError(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from error
    except RecursionError as error:
        raise ImportFileError(
            "The file nests lists or objects too deeply: a JSON import is a list of flat objects, one "
            'per row: [{"name": …}, …].'
        ) from error
    return records_table(records)


SCALARS = (str, int, float, bool, type(None))


def records_table(records) -> Table:
    """A ``Table`` over a list of flat objects (each value text, a number, true/false or null)."""
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise ImportFileError('A JSON import is a list of objects, one per row: [{"name": …}, …].')
    headers: dict[str, None] = {}
    for number, record in enumerate(records, 1):
        for name, value in record.items():
            if not isinstance(value, SCALARS):
                kind = "a list" if isinstance(value, list) else "an object"
                raise ImportFileError(
                    f"Row {number}, {printable(str(name))}: is {kind}; a cell holds text, a number, "
                    "true/false or null."
                )
            headers.setdefault(name, None)
    names = checked_headers(list(headers))
    return Table(
        headers=names,
        open_rows=lambda: (tuple(record.get(name) for name in names) for record in records),
        first_row_number=1,
    )
