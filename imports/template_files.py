"""Files people start from: a resource's template (every column and an example row, as CSV or XLSX),
and the rows of an import to fix (the file's own columns, a "problem" column, the invalid rows only)."""

import csv
import io

import openpyxl
from openpyxl.styles import Font

from core.exports import spreadsheet_safe

from .spec import ImportSpec
from .tables import SetAside, Table

PROBLEM_COLUMN = "problem"


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


def fix_file_rows(raw: Table, problems: dict[int, str]):
    """The header and the invalid rows of ``raw`` (the file as it was sent), each with its problems."""
    yield [*raw.headers, PROBLEM_COLUMN]
    width = len(raw.headers)
    remaining = len(problems)
    for number, cells in raw.records():
        if number not in problems:
            continue
        values = [] if isinstance(cells, SetAside) else ["" if cell is None else cell for cell in cells]
        values = (list(values) + [""] * width)[:width]
        yield [*values, problems[number]]
        remaining -= 1
        if not remaining:
            return


def fix_file_csv(raw: Table, problems: dict[int, str]) -> bytes:
    """The rows to fix as CSV (UTF-8 with a BOM): formulas escaped as exports escape them, read back as
    they were by the import."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in fix_file_rows(raw, problems):
        writer.writerow([spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
