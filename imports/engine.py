"""The import engine: one file of one resource, checked whole, then written in batches.

A file is read as a stream, in batches of ``settings.IMPORT_BATCH_ROWS`` rows, twice:

1. **Check** every row (no database writes): cells through the resource's columns, and keys repeated
   in the file (``keys.RepeatedKeys``). With ``all_or_nothing`` (the default) one invalid row stops
   the import here: nothing is written and the report names every row to fix.
2. **Write**, one transaction per batch: the batch's records looked up by key (locked), each row
   planned as new, changed or unchanged, and written by the resource (``ImportSpec.write``: bulk
   writes with a history row and audit entry per record). Records are keyed, so running a file again
   changes nothing: a job that stopped half-way (its worker died) is retried without duplicates, and
   unchanged rows are skipped. Progress is reported after each batch (the job's heartbeat).

A dry run (the admin's preview, ``--dry-run``) checks, then plans every batch without writing.

Rows a preset sets aside (``readers.SetAside``: a variable product's parent, an extra image row) are
counted as skipped with their reason and never block the file; a row it finds wrong is invalid like
any other.
"""

from collections.abc import Callable
from contextlib import contextmanager
from itertools import batched

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from audit.models import ChangeSet
from audit.recording import recording_change_set
from core.bulk import forget_logged_queries

from .errors import ImportRefused
from .keys import RepeatedKeys
from .models import ImportJob
from .readers import SetAside, Table
from .report import MAX_FIX_ROWS, MAX_PROBLEMS, ImportReport, PreviewRow, Update
from .rows import RowProblem, RowReader
from .spec import ImportRow, ImportSpec

ProgressCallback = Callable[[str, int, int], None]

__all__ = ["MAX_PROBLEMS", "Import", "ImportReport", "PreviewRow", "Update", "run_import"]


def import_reason(file_name: str) -> str:
    return f"Imported from {file_name}"


class JobChangeSet:
    """The one change set of an import, over all the attempts of its job.

    Created in the transaction of the first batch (a run that fails before writing anything leaves
    no empty change set) and kept on the job in that transaction, so a retry records into the same
    change set: the whole import is undone as one, however many attempts it took.
    """

    def __init__(self, *, job: ImportJob | None, title: str, user=None):
        self.job, self.title, self.user = job, title[:255], user
        self.change_set = None
        if job is not None and job.change_set_id:
            self.change_set = ChangeSet.objects.filter(pk=job.change_set_id).first()

    @contextmanager
    def batch(self):
        """Use inside a batch's transaction: its history records into the change set."""
        if self.change_set is None:
            self.change_set = ChangeSet.objects.create(
                kind=ChangeSet.Kind.IMPORT, title=self.title, user=self.user
            )
            if self.job is not None:
                ImportJob.objects.filter(pk=self.job.pk).update(change_set=self.change_set)
                self.job.change_set = self.change_set
        with recording_change_set(self.change_set):
            yield self.change_set

    def finish(self) -> ChangeSet | None:
        """The change set once the import is written (the batches counted its records); deleted
        (None) when it changed nothing."""
        change_set = self.change_set
        if change_set is None:
            return None
        change_set.refresh_from_db()
        if not change_set.row_count:
            change_set.delete()  # nothing changed: no empty change set in the list
            return None
        return change_set


class Import:
    """One file of one resource. ``run(table)`` checks then writes; ``run(table, dry_run=True)`` only
    says what would happen (new / changed / unchanged / invalid rows)."""

    def __init__(
        self,
        spec: ImportSpec,
        *,
        file_name: str,
        user=None,
        job=None,
        all_or_nothing: bool = True,
        batch_size: int | None = None,
        on_progress: ProgressCallback | None = None,
        preview_limit: int = 0,
    ):
        self.spec = spec
        self.file_name = file_name
        self.user = user if getattr(user, "is_authenticated", False) else None
        self.job = job  # what the records' ledger movements refer to (products' stock)
        self.all_or_nothing = all_or_nothing
        self.batch_size = batch_size or settings.IMPORT_BATCH_ROWS
        self.on_progress = on_progress or (lambda phase, done, total: None)
        self.preview_limit = preview_limit
        self.reason = import_reason(file_name)
        self.rejected: set[int] = set()  # rows the spec refused while the file was checked

    # -- reading and checking --
    def _valid_rows(self, table: Table, reader: RowReader, report: ImportReport | None):
        """The rows that pass every check; problems go to ``report`` (given while the file is checked,
        the first pass: then the spec checks each row against the others and the database too)."""
        for number, cells in table.rows():
            if isinstance(cells, SetAside):
                if report is not None:
                    if cells.invalid:
                        report.add_problems(number, [RowProblem(number, cells.field, cells.reason)])
                    else:
                        report.add_skipped(number, cells.reason)
                yield number, None
                continue
            row = reader.read(number, cells)
            if isinstance(row, ImportRow):
                if report is None:
                    yield number, (None if number in self.rejected else row)
                    continue
                problems = [RowProblem(number, column, message) for column, message in self.spec.check(row)]
                if not problems:
                    yield number, row
                    continue
                self.rejected.add(number)
                row = problems
            if report is not None:
                report.add_problems(number, row)
            yield number, None

    def _batches(self, table, reader, report, repeats: RepeatedKeys | None = None):
        """Batches of (rows read, valid rows), rows that repeat an earlier row's key left out."""
        for chunk in batched(self._valid_rows(table, reader, report), self.batch_size, strict=False):
            rows = [row for _, row in chunk if row is not None]
            if repeats is not None and repeats.count and rows:
                skip = repeats.among(rows[0].number, rows[-1].number)
                rows = [row for row in rows if row.number not in skip]
            yield len(chunk), rows

    def _check(self, table, reader, report, repeats: RepeatedKeys, *, progress: bool):
        """Pass 1: every row read and checked, nothing written; a key may have one row only."""
        for read, rows in self._batches(table, reader, report):
            repeats.add((row.key, row.number) for row in rows)
            report.rows_total += read
            if progress:
                self.on_progress("checking", report.rows_total, 0)
            forget_logged_queries()
        repeats.find()
        key, key_label = self.spec.key, self.spec.key_label
        for number, value, first in repeats.first(MAX_FIX_ROWS):
            problem = RowProblem(number, key, f"{value} is on row {first} too: give each {key_label} one row")
            if len(report.problems) < MAX_PROBLEMS:
                report.problems.append(problem)
            if len(report.fix_rows) < MAX_FIX_ROWS:
                report.fix_rows[number] = f"{problem.field}: {problem.message}"
        report.invalid += repeats.count
        report.problems.sort(key=lambda problem: problem.row)
        report.planned = self.spec.planned()

    def run(self, table: Table, *, dry_run: bool = False) -> ImportReport:
        reader = RowReader(self.spec, table.headers)
        report = ImportReport(
            file_name=self.file_name,
            dry_run=dry_run,
            ignored_columns=[*table.ignored_columns, *reader.ignored_columns],
            columns=[column.name for column in self.spec.columns],
        )
        with RepeatedKeys() as repeats:
            # 1. Check every row before writing any.
            self._check(table, reader, report, repeats, progress=not dry_run)
            if dry_run:
                for _, rows in self._batches(table, reader, None, repeats):
                    self._plan(rows, report, preview=True)
                    forget_logged_queries()
                return report
            if report.invalid and self.all_or_nothing:
                return report
            # 2. Write, a transaction per batch.
            self._write_all(table, reader, report, repeats)
        return report

    def _write_all(self, table, reader, report, repeats):
        recorded = JobChangeSet(job=self.job, title=f"Imported {self.file_name}", user=self.user)
        done = 0
        for read, rows in self._batches(table, reader, None, repeats):
            try:
                with transaction.atomic(), recorded.batch() as change_set:
                    changed = self._write(rows, report)
                    if changed:
                        ChangeSet.objects.filter(pk=change_set.pk).update(row_count=F("row_count") + changed)
                    done += read
                    self.on_progress("importing", done, report.rows_total)
            except IntegrityError as error:
                # Another writer (a person in the admin) created one of these keys meanwhile; imports
                # themselves take turns (imports.locking). The batch was rolled back.
                spec = self.spec
                raise ImportRefused(
                    f"Rows {rows[0].number} to {rows[-1].number} clash with {spec.label.lower()} created "
                    "meanwhile by someone else; nothing of these rows was written. Import the file again: "
                    f"rows already imported are found by their {spec.key_label} and left as they are."
                ) from error
            forget_logged_queries()
        report.written = True
        report.change_set = recorded.finish()

    # -- deciding and writing --
    def _plan(self, rows: list[ImportRow], report: ImportReport, *, lock=False, preview=False):
        """What each row does to the record of its key: (rows to create, updates)."""
        existing = self.spec.find([row.key for row in rows], lock=lock)
        creates: list[ImportRow] = []
        updates: list[Update] = []
        for row in rows:
            record = existing.get(row.key)
            if record is None:
                report.created += 1
                creates.append(row)
                if preview:
                    self._preview(report, row, "new", [])
                continue
            changes = self.spec.changes(row, record)
            if changes:
                report.updated += 1
                updates.append(Update(record, changes, row))
                if preview:
                    self._preview(report, row, "update", changes)
            else:
                report.unchanged += 1
                if preview:
                    self._preview(report, row, "skip", [])
        return creates, updates

    def _write(self, rows: list[ImportRow], report: ImportReport) -> int:
        """Writes one batch (inside its transaction); returns how many records it changed."""
        creates, updates = self._plan(rows, report, lock=True)
        if not creates and not updates:
            return 0
        return self.spec.write(
            creates=creates, updates=updates, reason=self.reason, user=self.user, job=self.job
        )

    def _preview(self, report: ImportReport, row: ImportRow, kind: str, changes):
        if len(report.preview) >= self.preview_limit:
            return
        old = {column: old for column, old, _ in changes}
        show = self.spec.show
        cells = []
        for column in report.columns:
            if column not in row.values:
                cells.append((column, "", None))
                continue
            text = show(column, row.values[column])
            cells.append((column, text, show(column, old[column]) if column in old else None))
        report.preview.append(PreviewRow(row.number, kind, cells))


def run_import(spec: ImportSpec, *, table: Table, dry_run: bool = False, **options) -> ImportReport:
    """Import (or with ``dry_run`` only check and plan) ``table`` as ``spec``'s resource; ``options``
    are ``Import``'s (``file_name``, ``user``, ``job``, ``all_or_nothing``, ``batch_size``...)."""
    return Import(spec, **options).run(table, dry_run=dry_run)
