"""The admin's import from the shell, for a registered resource: ``python manage.py import_products
PATH [--dry-run] [--format csv|xlsx|json] [--skip-invalid]``, with a progress bar and a summary.

A file that can't be read (format, encoding, a missing column) or that has invalid rows stops with an
error naming what to fix, and nothing is written (``--skip-invalid`` imports the valid rows and lists
the others). An app's command is ``class Command(ImportCommand): resource = "products"``.
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
from .readers import FORMATS, open_table
from .registry import new_spec, spec_class


class ProgressBar:
    def __init__(self, stream, *, enabled: bool):
        self.stream, self.enabled = stream, enabled
        self.started = time.monotonic()
        self.phase = None

    def __call__(self, phase: str, done: int, total: int):
        if not self.enabled:
            return
        if phase != self.phase:
            if self.phase is not None:
                self.stream.write("\n")
            self.phase, self.started = phase, time.monotonic()
        rate = done / max(time.monotonic() - self.started, 1e-6)
        if total:
            filled = round(30 * done / total)
            bar = "#" * filled + "." * (30 - filled)
            line = f"Importing [{bar}] {100 * done // total:3d}% {done}/{total} rows"
        else:
            line = f"Checking  {done} rows"
        self.stream.write(f"\r{line}  {rate:,.0f} rows/s")
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
                table = open_table(file, format)
                if dry_run:
                    report = run_import(
                        new_spec(self.resource),
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
                    )
            except DomainError as error:  # a file that can't be read, another import running, ...
                raise CommandError(str(error)) from error
            finally:
                progress.close()

        for problem in report.problems[:50]:
            self.stderr.write(f"  {problem}")
        if len(report.problems) > 50:
            self.stderr.write(f"  … {len(report.problems) - 50} more problems")
        if report.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(report.ignored_columns)}")
        counts = (
            f"{report.rows_total} rows: {report.created} new, {report.updated} changed, "
            f"{report.unchanged} unchanged, {report.invalid} invalid"
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
