"""What an import did, or would do (a dry run): counts, the rows to fix, the rows set aside, the
preview's rows."""

from dataclasses import dataclass, field
from typing import NamedTuple

from audit.models import ChangeSet

from .rows import RowProblem
from .spec import ImportRow

MAX_PROBLEMS = 1000  # problems (and skipped rows) kept for the report (all of them are counted)
MAX_FIX_ROWS = 100_000  # invalid rows the file "rows to fix" holds


class Update(NamedTuple):
    """A row that changes an existing record: (column, old, new) per changed value."""

    record: object
    changes: list[tuple[str, object, object]]
    row: ImportRow


@dataclass
class PreviewRow:
    """One row as the admin's preview shows it: what it would do, with old -> new for changes."""

    number: int
    kind: str  # "new", "update" or "skip" (unchanged)
    cells: list[tuple[str, str, str | None]]  # (column, new text, old text when it changes)


@dataclass
class ImportReport:
    file_name: str
    dry_run: bool = False
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    skipped: int = 0  # rows set aside by the file's system's rules (not sellable on their own)
    problems: list[RowProblem] = field(default_factory=list)
    skipped_rows: list[RowProblem] = field(default_factory=list)  # (row, "", why it was set aside)
    columns: list[str] = field(default_factory=list)  # of the preview's cells
    preview: list[PreviewRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    planned: list[tuple[int, str]] = field(default_factory=list)  # what "create missing" creates
    # Every invalid row's problems as one text (up to MAX_FIX_ROWS): the file of rows to fix.
    fix_rows: dict[int, str] = field(default_factory=dict)
    change_set: ChangeSet | None = None
    written: bool = False

    @property
    def rows_to_fix(self) -> list[int]:
        return sorted({problem.row for problem in self.problems})

    def rows_to_fix_text(self, limit: int = 20) -> str:
        rows = self.rows_to_fix
        text = ", ".join(map(str, rows[:limit]))
        if self.invalid > min(limit, len(rows)):
            text += f" and {self.invalid - min(limit, len(rows))} more"
        return text

    @property
    def preview_truncated(self) -> bool:
        return len(self.preview) < self.rows_total - self.invalid - self.skipped

    def add_problems(self, number: int, problems: list[RowProblem]) -> None:
        """An invalid row: counted, its problems kept for the report and the file of rows to fix."""
        self.invalid += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.extend(problems)
        if len(self.fix_rows) < MAX_FIX_ROWS:
            self.fix_rows[number] = "; ".join(
                f"{p.field}: {p.message}" if p.field else p.message for p in problems
            )

    def add_skipped(self, number: int, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_rows) < MAX_PROBLEMS:
            self.skipped_rows.append(RowProblem(number, "", reason))

    def counts(self) -> str:
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (
            f"{self.created} new, {self.updated} changed, {self.unchanged} unchanged{skipped}, "
            f"{self.invalid} invalid of {self.rows_total} rows"
        )

    def summary(self) -> str:
        if self.invalid and not self.written:
            rows = self.rows_to_fix_text()
            return f"Nothing was imported: {self.invalid} row(s) are invalid (rows {rows}). {self.counts()}."
        return f"{self.counts()}."
