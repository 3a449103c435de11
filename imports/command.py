"""The admin's import from the shell, for a registered resource: ``python manage.py import_products
PATH [--dry-run] [--format csv|xlsx|json] [--skip-invalid] [--preset woocommerce|shopify|…]
[--mapping NAME] [--encoding cp1252] [--delimiter ';'] [--create-missing]``, with a progress bar and a
summary.

A file that can't be read (format, encoding, a missing column) or that has invalid rows stops with an
error naming what to fix, and nothing is written (``--skip-invalid`` imports the valid rows and lists
the others). Another system's export is read through its preset, a file of the shop's own kind through
a mapping it saved in the admin. An app's command is ``class Command(ImportCommand): resource = "products"``.
"""

import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from core.tenancy import activate, add_tenant_argument, tenant_from_options

from .engine import run_import
from .jobs import COMMAND_LOCK_WAIT, import_recorded
from .mapping import guess, problems
from .presets import PRESETS, preset_named
from .readers import FORMATS, open_table
from .registry import new_spec, spec_class
from .saved_mappings import import_mappings_for
from .sources import ImportOptions, open_source
from .text_files import DELIMITERS, ENCODINGS

MIN_RATE_SECONDS = 0.5  # a rate measured over less time than this says nothing


class ProgressBar:
    """Checking, then importing: each pass's rows and its rate, measured from when the pass began
    (when the previous one ended), and shown once it has run long enough to mean something."""

    def __init__(self, stream, *, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.started = self.last = time.monotonic()
        self.phase = None

    def __call__(self, phase: str, done: int, total: int):
        if not self.enabled:
            return
        now = time.monotonic()
        if phase != self.phase:
            if self.phase is not None:
                self.stream.write("\n")
                self.started = self.last  # this pass began when the last one's final batch was done
            self.phase = phase
        self.last = now
        elapsed = now - self.started
        rate = f"  {done / elapsed:,.0f} rows/s" if elapsed >= MIN_RATE_SECONDS else ""
        if total:
            filled = round(30 * done / total)
            bar = "#" * filled + "." * (30 - filled)
            line = f"Importing [{bar}] {100 * done // total:3d}% {done:,}/{total:,} rows"
        else:
            line = f"Checking  {done:,} rows"
        self.stream.write(f"\r{line}{rate}")
        self.stream.flush()

    def close(self):
        if self.enabled and self.phase is not None:
            self.stream.write("\n")
            self.stream.flush()


class ImportCommand(BaseCommand):
    resource = ""  # the registered resource this command imports

    @property
    def help(self):
        spec = spec_class(self.resource)
        return (
            f"Import {spec.label.lower()} from a CSV, XLSX or JSON file (keyed by {spec.key_label}), as the "
            "admin's import does."
        )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file to import")
        parser.add_argument("--dry-run", action="store_true", help="check the file and say what would change")
        parser.add_argument("--format", choices=FORMATS, help="the file's format (default: its extension)")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and report the invalid ones (default: any invalid row stops it all)",
        )
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            help="the file is another system's export (WooCommerce, Shopify)",
        )
        parser.add_argument("--mapping", help="a column mapping the shop saved in the admin (its name)")
        parser.add_argument(
            "--encoding", choices=sorted(ENCODINGS), help="the text file's encoding (default: detected)"
        )
        parser.add_argument(
            "--delimiter",
            choices=DELIMITERS,
            help="the text file's delimiter (default: detected; tab is $'\\t')",
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="create what rows refer to and doesn't exist (categories)",
        )
        parser.add_argument("--user", help="the staff user the history and ledger record (username)")
        add_tenant_argument(parser)
        parser.add_argument(
            "--batch-size", type=int, help="rows per batch (default: settings.IMPORT_BATCH_ROWS)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--lock-wait",
            type=float,
            default=COMMAND_LOCK_WAIT,
            help="seconds to wait for another import into the shop to finish (imports take turns)",
        )

    def handle(
        self,
        *args,
        path,
        dry_run,
        format,
        skip_invalid,
        user,
        tenant,
        batch_size,
        no_progress,
        lock_wait,
        preset=None,
        mapping=None,
        encoding=None,
        delimiter=None,
        create_missing=False,
        **options,
    ):
        shop = tenant_from_options(
            {"tenant": tenant.lower() if tenant else None}
        )  # one error for every command
        staff = None
        if user:
            staff = get_user_model().objects.filter(username=user, is_staff=True).first()
            if staff is None:
                raise CommandError(f"There is no staff user {user!r}.")
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        file = Path(path)
        progress = ProgressBar(self.stderr._out, enabled=not no_progress and options.get("verbosity", 1) > 0)
        with activate(shop):
            try:
                chosen = ImportOptions(
                    encoding=encoding or "",
                    delimiter=delimiter or "",
                    create_missing=create_missing,
                    skip_invalid=skip_invalid,
                )
                table = self._table(file, format, chosen, preset=preset, mapping=mapping)
                if dry_run:
                    report = run_import(
                        new_spec(self.resource, create_missing=create_missing),
                        table=table,
                        file_name=file.name,
                        user=staff,
                        dry_run=True,
                        all_or_nothing=not skip_invalid,
                        batch_size=batch_size,
                    )
                    job = None
                else:
                    job, report = import_recorded(
                        resource=self.resource,
                        table=table,
                        file_name=file.name,
                        user=staff,
                        all_or_nothing=not skip_invalid,
                        on_progress=progress,
                        batch_size=batch_size,
                        lock_wait=lock_wait,
                        create_missing=create_missing,
                    )
            except DomainError as error:  # a file that can't be read, another import running, ...
                raise CommandError(str(error)) from error
            finally:
                progress.close()

        if report.skipped:
            self.stdout.write(f"Skipped {report.skipped} row(s) that are no products of their own:")
            for skipped in report.skipped_rows[:10]:
                self.stdout.write(f"  Row {skipped.row}: {skipped.message}")
        for problem in report.problems[:50]:
            self.stderr.write(f"  {problem}")
        if len(report.problems) > 50:
            self.stderr.write(f"  … {len(report.problems) - 50} more problems")
        if report.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(report.ignored_columns)}")
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        counts = (
            f"{report.rows_total} rows: {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged{skipped}, {report.invalid} invalid"
        )
        if report.invalid and not skip_invalid:
            raise CommandError(
                f"{report.invalid} row(s) are invalid, so nothing was imported (all or nothing). Fix rows "
                f"{report.rows_to_fix_text()} and run it again, or pass --skip-invalid. {counts}."
            )
        if dry_run:
            self.stdout.write(f"Dry run, nothing written. {counts}.")
            return
        self.stdout.write(self.style.SUCCESS(f"Imported {file.name}. {counts}."))
        if job is not None:
            self.stdout.write(
                f"Import job #{job.pk}"
                + (f", change set #{report.change_set.pk}" if report.change_set else "")
            )
        if not sys.stdout.isatty():
            self.stdout.flush()

    def _table(self, file: Path, file_format, options: ImportOptions, *, preset, mapping):
        """The file as the resource's columns: its own names, a preset's or a saved mapping's."""
        if not preset and not mapping:
            return open_table(file, file_format, encoding=options.encoding, delimiter=options.delimiter)
        spec = spec_class(self.resource)
        headers = open_table(
            file, file_format, encoding=options.encoding, delimiter=options.delimiter
        ).headers
        saved = None
        if mapping:
            saved = import_mappings_for(self.resource).filter(name=mapping).first()
            if saved is None:
                raise CommandError(f"This shop has no saved mapping {mapping!r} for {spec.label.lower()}.")
            preset = preset or saved.preset
        found = preset_named(preset or "")
        if found is not None and found.resource != self.resource:
            raise CommandError(f"--preset {preset} is for {found.resource}, not {self.resource}.")
        targets = [
            item.target
            for item in guess(
                spec,
                headers,
                saved=saved.columns if saved else None,
                saved_name=saved.name if saved else "",
                preset=found,
            )
        ]
        wrong = problems(spec, headers, targets)
        if wrong:
            raise CommandError(" ".join(wrong))
        options.preset, options.headers, options.targets = preset or "", headers, targets
        return open_source(file, file_format, options).table
