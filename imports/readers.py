"""Reading files to import (CSV, XLSX, JSON) into tables, the same way everywhere: the admin's preview,
the import itself, a worker's run, the command line. CSV and XLSX are streamed, so memory stays flat;
every table can be read again (an import checks the whole file, then writes it).

Whatever a file holds, reading it ends in a table or in ``ImportFileError`` with a sentence a person
can act on, in time proportional to its size: line ends of any kind (``\\n``, ``\\r\\n``, ``\\r``),
commas, semicolons or tabs, a wrong encoding (named with its line), JSON nested without end, numbers
of any length, cells that are lists or objects, damaged workbooks. Cells are not interpreted here
(``imports.cells``); they are the file's text, or a workbook's or a JSON file's plain values.
"""

import codecs
import csv
import json
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from core.exceptions import DomainError

FORMATS = ("csv", "xlsx", "json")
MAX_COLUMNS = 500  # more is not a table people edit: a wrong delimiter, or something else
MAX_HEADER_CHARS = 200
MAX_NUMBER_DIGITS = 40  # longer integers in JSON stay text: no cell of ours holds more
_CHUNK = 1 << 16


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

    def records(self) -> Iterator[tuple[int, Sequence]]:
        """(row number, cells) of every row, blank ones included; reading errors name their row."""
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
                    f"Row {number} is not UTF-8 text: save the file as “CSV UTF-8” and import it again. "
                    "Nothing was imported."
                ) from error
            except csv.Error as error:
                raise ImportFileError(
                    f"Row {number} can't be read as CSV: {printable(str(error))}. Nothing was imported."
                ) from error
            yield number, cells

    def rows(self) -> Iterator[tuple[int, Sequence]]:
        """(row number, cells) of every non-blank row."""
        for number, cells in self.records():
            if any(cell is not None and str(cell).strip() for cell in cells):
                yield number, cells


def printable(text: str, limit: int = 60) -> str:
    """``text`` as it can be shown in a message and stored (in a database that refuses NUL): control
    characters written as escapes, cut at ``limit`` characters."""
    shown = "".join(ch if _shows(ch) else ascii(ch)[1:-1] for ch in text[:limit])
    return shown if len(text) <= limit else shown + "…"


def _shows(ch: str) -> bool:
    return ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF  # no control character, no lone surrogate


def detect_format(file_name: str, file_format: str | None = None) -> str:
    chosen = (file_format or Path(file_name).suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise ImportFileError(
            f"Can't tell the format of “{printable(Path(file_name).name)}”: use a .csv, .xlsx or .json file "
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


# --- CSV ------------------------------------------------------------------------------------------
_LINE_END = re.compile(rb"\r\n|\r|\n")


def _raw_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as bytes, each with its line end, whatever the line ends are (``\\n``,
    ``\\r\\n`` or a lone ``\\r``, as old Mac spreadsheets write), read in chunks."""
    with path.open("rb") as handle:
        pending = b""
        while chunk := handle.read(_CHUNK):
            pending += chunk
            start = 0
            for match in _LINE_END.finditer(pending):
                if match.group() == b"\r" and match.end() == len(pending):
                    break  # a "\r" at the chunk's end may be the first half of "\r\n"
                yield pending[start : match.end()]
                start = match.end()
            pending = pending[start:]
        if pending:
            yield pending


def _utf8_lines(path: Path) -> Iterator[str]:
    """The file's lines as text, decoded one by one so a wrong encoding is reported on its line."""
    for line_number, raw in enumerate(_raw_lines(path), 1):
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
    try:
        headers = next(csv.reader([first_line], delimiter=delimiter), [])
    except csv.Error as error:
        raise ImportFileError(f"The first row can't be read as CSV: {printable(str(error))}.") from error
    headers = _checked_headers(headers)
    width = len(headers)

    def open_rows():
        reader = csv.reader(_utf8_lines(path), delimiter=delimiter)
        next(reader, None)  # the header row, read above
        for cells in reader:
            yield cells[:width]  # cells past the last column name nothing

    return Table(headers=headers, open_rows=open_rows)


def _checked_headers(headers: Sequence) -> list[str]:
    headers = ["" if header is None else str(header) for header in headers]
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(
            f"The first row has {len(headers)} columns (at most {MAX_COLUMNS}): is it the right file, "
            "with commas or semicolons between its columns?"
        )
    for header in headers:
        if len(header) > MAX_HEADER_CHARS or "\x00" in header:
            raise ImportFileError(
                f"The first row must name the columns; “{printable(header)}” is not a column name."
            )
    return headers


# --- XLSX -----------------------------------------------------------------------------------------
def _xlsx_table(path: Path) -> Table:
    def workbook():
        try:
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
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

    book = workbook()
    try:
        header_row = next(sheet_rows(book), None)
    finally:
        book.close()
    if not header_row or not any(cell is not None and str(cell).strip() for cell in header_row):
        raise ImportFileError("The first sheet is empty: its first row must name the columns.")
    headers = _checked_headers(header_row)
    width = len(headers)

    def open_rows():
        book = workbook()
        try:
            rows = sheet_rows(book)
            next(rows, None)
            for cells in rows:
                yield cells[:width]
        finally:
            book.close()

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
    names = _checked_headers(list(headers))
    return Table(
        headers=names,
        open_rows=lambda: (tuple(record.get(name) for name in names) for record in records),
        first_row_number=1,
    )
