"""A file to import as a table: its header row and its rows, readable more than once, with what was
found out while opening it (encoding, delimiter, line ends) so the preview can say how it was read.

Rows set aside by a preset (a row another shop system writes that isn't a product of its own: a
variable product's parent, an extra image row) come through as ``SetAside`` in place of cells: the
engine counts them as skipped, with the reason, and never as errors.
"""

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from core.exceptions import DomainError

MAX_COLUMNS = 500  # more is not a table people edit: a wrong delimiter, or something else
MAX_HEADER_CHARS = 200


class ImportFileError(DomainError):
    """The file can't be read as a table: format, encoding, columns."""


class SetAside:
    """A row that is not imported, with the reason (``invalid``: a problem to fix, not a row that is
    fine to leave out; ``field`` is then the column to fix)."""

    __slots__ = ("field", "invalid", "reason")

    def __init__(self, reason: str, *, invalid: bool = False, field: str = ""):
        self.reason, self.invalid, self.field = reason, invalid, field


DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
LINE_END_NAMES = {"\r": "old Mac line ends (CR)"}


@dataclass
class Table:
    """The rows of a file, which can be read more than once (an import checks, then writes)."""

    headers: list[str]
    open_rows: Callable[[], Iterator[Sequence]]
    # The number a person sees for the first data row: 2 in a spreadsheet under its header row, 1 for
    # the first record of a JSON list.
    first_row_number: int = 2
    # How a text file was read (empty for workbooks and JSON): a codec name, the delimiter, the line end.
    encoding: str = ""
    encoding_label: str = ""
    delimiter: str = ""
    line_end: str = ""
    # The file's columns a mapping in front of it leaves out (the preview lists them).
    ignored_columns: list[str] = field(default_factory=list)

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
                    f"Row {number} can't be read as {self.encoding_label or 'UTF-8'} text: choose the "
                    "file's encoding and read it again. Nothing was imported."
                ) from error
            except csv.Error as error:
                raise ImportFileError(
                    f"Row {number} can't be read as CSV: {csv_problem(error)}. Nothing was imported."
                ) from error
            yield number, cells

    def rows(self) -> Iterator[tuple[int, Sequence]]:
        """(row number, cells) of every non-blank row (a row set aside counts as one)."""
        for number, cells in self.records():
            if isinstance(cells, SetAside) or any(cell is not None and str(cell).strip() for cell in cells):
                yield number, cells

    def reading(self) -> str:
        """How the file was read, as the preview says it: "Windows-1252, semicolons"."""
        parts = [self.encoding_label] if self.encoding_label else []
        if self.delimiter:
            parts.append(DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter)))
        if self.line_end in LINE_END_NAMES:
            parts.append(LINE_END_NAMES[self.line_end])
        return ", ".join(parts)

    def with_rows(self, headers: list[str], open_rows) -> "Table":
        """The same file's table with other headers and rows (a column mapping in front of it)."""
        return Table(
            headers=headers,
            open_rows=open_rows,
            first_row_number=self.first_row_number,
            encoding=self.encoding,
            encoding_label=self.encoding_label,
            delimiter=self.delimiter,
            line_end=self.line_end,
        )


def csv_problem(error: csv.Error) -> str:
    """What a CSV reader's error means, in words (its own are Python's)."""
    said = str(error)
    if "field larger than field limit" in said:
        return f"a cell is longer than {csv.field_size_limit():,} characters (is a quote left open?)"
    if "unexpected end of data" in said:
        return "a quote is opened and never closed"
    if "NUL" in said:
        return "it holds NUL characters (is it a text file?)"
    return "its quotes don't line up (a cell with a quote inside is quoted whole, its quotes doubled)"


def printable(text: str, limit: int = 60) -> str:
    """``text`` as it can be shown in a message and stored (in a database that refuses NUL): control
    characters written as escapes, cut at ``limit`` characters."""
    shown = "".join(ch if _shows(ch) else ascii(ch)[1:-1] for ch in text[:limit])
    return shown if len(text) <= limit else shown + "…"


def _shows(ch: str) -> bool:
    return ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF  # no control character, no lone surrogate


def checked_headers(headers: Sequence) -> list[str]:
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
