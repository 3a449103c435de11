"""The file formats of imports and exports (CSV, XLSX, JSON), with formula escaping that holds.

django-import-export's own ``IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT`` only drops a leading ``=``
(``+``, ``-`` and ``@`` start formulas too) and turns every cell into text, numbers included. These
formats keep the setting's meaning but escape like ``core.exports.spreadsheet_safe`` (the
streaming CSV exports): a text cell that a spreadsheet would run gets a leading apostrophe; numbers
stay numbers. JSON is not opened by spreadsheets and is left as it is.
"""

from import_export.formats import base_formats

from .exports import FORMULA_STARTS, spreadsheet_safe


def _escape_text_cells(dataset):
    for index in range(len(dataset)):
        row = dataset[index]
        if any(isinstance(cell, str) and cell.startswith(FORMULA_STARTS) for cell in row):
            dataset[index] = [spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row]


def unescape_cell(text: str) -> str:
    """The value an escaped export cell stood for: ``'=SUM(A1)`` -> ``=SUM(A1)`` (imports of our own
    exports round-trip)."""
    if text.startswith("'") and text[1:2] and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


class CSV(base_formats.CSV):
    def _escape_formulae(self, dataset):
        _escape_text_cells(dataset)


class XLSX(base_formats.XLSX):
    def _escape_formulae(self, dataset):
        _escape_text_cells(dataset)


class JSON(base_formats.JSON):
    def _escape_formulae(self, dataset):
        pass  # no spreadsheet runs JSON; its values are exported exactly


FORMATS = [CSV, XLSX, JSON]
# Formats whose cells keep their types (numbers, dates) on export.
NATIVE_TYPE_FORMATS = (base_formats.XLSX,)
