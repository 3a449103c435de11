"""Files people start from: a resource's template (every column and an example row, as CSV or XLSX),
and the rows of an import to fix (the file's own columns, a "problem" column, the invalid rows only)."""

import csv
import io
from itertools import groupby, islice

import openpyxl
from openpyxl.styles import Font

from core.exports import spreadsheet_safe

from .spec import ImportSpec
from .tables import Table

PROBLEM_COLUMN = "problem"
MAX_GROUP = 5000  # rows of one group copied with its rows to fix


def template_rows(spec: ImportSpec) -> tuple[list[str], list[str]]:
    return [column.name for column in spec.columns], [column.example for column in spec.columns]


def template_csv(spec: ImportSpec) -> bytes:
    """UTF-8 with a BOM, so a spreadsheet opens its accents right (imports read it either way)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(template_rows(spec))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx(spec: ImportSpec) -> bytes:
    """The template sheet first (imports read the first sheet), then a sheet that explains the columns."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = spec.label[:31]
    headers, example = template_rows(spec)
    sheet.append(headers)
    sheet.append(example)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, header in enumerate(headers, 1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = max(12, len(header) + 4)
    about = book.create_sheet("Columns")
    about.append(["column", "required", "what it holds", "example"])
    for column in spec.columns:
        about.append([column.name, "yes" if column.required else "no", column.help, column.example])
    about.append([])
    about.append([f"Rows are matched by their {spec.key_label}: new ones are created, the others changed."])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def fix_file_rows(raw: Table, problems: dict[int, str], *, group_by: str = ""):
    """The header and the invalid rows of ``raw`` (the file as it was sent), each with its problems.
    With ``group_by`` (a column whose rows belong together, as Shopify's Handle), a row to fix comes
    with the other rows of its group, which hold what it leaves out (imported again, they change
    nothing)."""
    yield [*raw.headers, PROBLEM_COLUMN]
    width = len(raw.headers)
    group = raw.headers.index(group_by) if group_by in raw.headers else None
    rows = (
        (number, (["" if c is None else c for c in cells] + [""] * width)[:width])
        for number, cells in raw.records()
    )
    if group is None:
        yield from ([*values, problems[number]] for number, values in rows if number in problems)
        return
    for key, members in groupby(rows, key=lambda row: row[1][group]):
        members = list(islice(members, MAX_GROUP))
        if not any(number in problems for number, _ in members):
            continue
        for number, values in members:
            yield [
                *values,
                problems.get(number) or f"(not to fix: a row of “{key}”, which the rows to fix need)",
            ]


def fix_file_csv(raw: Table, problems: dict[int, str], *, group_by: str = "") -> bytes:
    """The rows to fix as CSV (UTF-8 with a BOM): formulas escaped as exports escape them, read back as
    they were by the import."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in fix_file_rows(raw, problems, group_by=group_by):
        writer.writerow([spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
