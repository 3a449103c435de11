"""Imports a shop wants approved: a confirmed import of more rows than its rule waits, its job held
("waiting for approval"), until someone else approves it (its job is then queued for a worker) or
rejects it (its job is closed, nothing imported).

What the import would do is planned when it is asked (a dry run over the whole file) and planned again
when it is approved: if the plan changed meanwhile (a record of the file was changed or created by
someone else), the approval reports the conflict and nothing is imported.
"""

import hashlib
from decimal import Decimal

from django.db import transaction

from approvals import registry as approvals
from approvals.gate import Measure, change_request_hold, rules_matched
from approvals.services import ChangeConflict
from audit.models import ChangeSet
from audit.recording import noted

from .engine import Import
from .files import local_file
from .jobs import APPROVAL_OPERATION as OPERATION
from .jobs import import_job_enqueue
from .models import ImportJob
from .registry import new_spec
from .sources import ImportOptions, open_source

IMPORT_ROWS = "import_rows"
SHOWN = 500  # rows of a plan a request lists


def import_measure(rows: int) -> Measure:
    return Measure(IMPORT_ROWS, Decimal(rows), f"an import of {rows:,} rows")


class _PlannedImport(Import):
    """A dry run that also fingerprints its plan: every row's number, what it does (new, changed,
    unchanged) and each change's old and new value; and keeps the first changes for people to read."""

    def __init__(self, spec, **options):
        super().__init__(spec, preview_limit=0, **options)
        self.fingerprint = hashlib.sha256()
        self.changes: list[dict] = []

    def _preview(self, report, row, kind, changes):
        shown = [
            (column, self.spec.show(column, old), self.spec.show(column, new)) for column, old, new in changes
        ]
        self.fingerprint.update(repr((row.number, kind, shown)).encode())
        record = f"Row {row.number}: {row.key}"
        if kind == "new" and len(self.changes) < SHOWN:
            self.changes.append({"record": record, "field": "record", "old": "none", "new": "created"})
        for column, old, new in shown:
            if len(self.changes) < SHOWN:
                self.changes.append(
                    {"record": record, "field": column, "old": old or "empty", "new": new or "empty"}
                )


def import_plan(job: ImportJob) -> dict:
    """What importing the job's file would do now, and its fingerprint."""
    options = ImportOptions.from_json(job.options)
    spec = new_spec(job.resource, create_missing=options.create_missing)
    planned = _PlannedImport(
        spec, file_name=job.file_name, user=job.user, job=job, all_or_nothing=not options.skip_invalid
    )
    with local_file(job.file.name, job.file.storage) as path:
        report = planned.run(open_source(path, job.file_format, options).table, dry_run=True)
    return {
        "fingerprint": planned.fingerprint.hexdigest(),
        "counts": {
            "rows": report.rows_total,
            "new": report.created,
            "changed": report.updated,
            "unchanged": report.unchanged,
            "invalid": report.invalid,
        },
        "changes": planned.changes,
    }


def _counts_text(counts: dict) -> str:
    return f"{counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged"


def import_job_hold(*, job: ImportJob, rows: int, why: str = ""):
    """A confirmed import of more rows than the shop's rule: its job waits for approval (the change
    request, returned), instead of running. None when it may run now."""
    measure = import_measure(rows)
    if not rules_matched([measure]):
        return None
    plan = import_plan(job)
    with transaction.atomic():
        held = change_request_hold(
            operation=OPERATION,
            measures=[measure],
            title=f"Import of {job.file_name}: {rows:,} rows ({_counts_text(plan['counts'])})",
            why=why,
            user=job.user,
            model=ImportJob,
            records=[job],
            row_count=rows,
            changes=plan["changes"],
            payload={"job": job.pk, "fingerprint": plan["fingerprint"], "counts": plan["counts"]},
        )
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.AWAITING_APPROVAL, rows_total=rows)
    job.refresh_from_db()
    return held


def import_apply(change_request) -> ChangeSet:
    """The approved import: planned again (refused if the plan changed), then its job queued for a
    worker, recording into a change set made now (so the approval names it)."""
    payload = change_request.payload
    job = ImportJob.objects.select_for_update().filter(pk=payload["job"]).first()
    if job is None or job.status != ImportJob.Status.AWAITING_APPROVAL:
        raise ChangeConflict("Its import job is no longer waiting for approval.")
    plan = import_plan(job)
    if plan["fingerprint"] != payload["fingerprint"]:
        raise ChangeConflict(
            f"the file would now do something else than when it was asked ({_counts_text(plan['counts'])}; "
            f"then: {_counts_text(payload['counts'])}): records it changes were changed meanwhile"
        )
    change_set = ChangeSet.objects.create(
        kind=ChangeSet.Kind.IMPORT, title=noted(f"Imported {job.file_name}")[:255], user=job.user
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, change_set=change_set)
    import_job_enqueue(job)
    return change_set


def import_not_applied(change_request) -> None:
    """Rejected, withdrawn or outdated: its job is closed and its file never imported."""
    ImportJob.objects.filter(
        pk=change_request.payload["job"], status=ImportJob.Status.AWAITING_APPROVAL
    ).update(status=ImportJob.Status.NOT_APPROVED, error_message=change_request.outcome[:2000])


def register() -> None:
    approvals.rule_kind(
        approvals.RuleKind(
            name=IMPORT_ROWS,
            label="Import",
            template="imports of more than {threshold} rows",
            every="every import",
            order=50,
        )
    )
    approvals.operation(
        approvals.Operation(
            name=OPERATION,
            apply=import_apply,
            model="imports.importjob",
            own_change_set=True,
            not_applied=import_not_applied,
        )
    )
