"""Undoing a change set, when the shop's rule wants undos approved: the undo's guard (registered with
``audit.registry``) holds it as a change request; once approved, the undo runs as it would have, under
its own locks and conflict check."""

from decimal import Decimal

from audit.models import ChangeSet
from audit.undo import change_set_undo, change_set_undo_plan, restorable_values

from .gate import Measure, approval_needed, change_request_hold
from .services import ChangeConflict
from .values import shown

UNDO = "undo"
OPERATION = "audit.change_set_undo"


def _undoable(plan) -> list:
    return [record for record in plan.records if not record.problem]


def undo_measure(plan) -> Measure:
    count = len(_undoable(plan))
    return Measure(UNDO, Decimal(count), f"an undo of {count} record(s)")


def undo_approval_notice(plan) -> str | None:
    return approval_needed([undo_measure(plan)])


def undo_hold(*, change_set, plan, user, skip_conflicts: bool, why: str):
    records = _undoable(plan)
    return change_request_hold(
        operation=OPERATION,
        measures=[undo_measure(plan)],
        title=f"Undo of {change_set.title}",
        why=why,
        user=user,
        model=ChangeSet,
        records=[change_set],
        row_count=len(records),
        changes=undo_changes(records),
        # The undo compares its records with what the change set left, under its locks, when it runs.
        payload={
            "change_set": change_set.pk,
            "skip_conflicts": skip_conflicts,
            "skipped": sorted(str(record.pk) for record in plan.conflicts),
        },
    )


def undo_changes(records, limit: int = 500) -> list[dict]:
    """What the undo would do to each record, old -> new, as a person reads it."""
    rows = []
    for record in records:
        if len(rows) >= limit:
            break
        if record.created_by_change_set:
            rows.append({"record": record.label, "field": "record", "old": "exists", "new": "removed"})
        elif record.current is None:
            rows.append({"record": record.label, "field": "record", "old": "deleted", "new": "restored"})
        else:
            values = restorable_values(record.model, record.before)
            for attname, label in record.compared:
                if attname in values and getattr(record.current, attname) != values[attname]:
                    rows.append(
                        {
                            "record": record.label,
                            "field": str(label),
                            "old": shown(getattr(record.current, attname)),
                            "new": shown(values[attname]),
                        }
                    )
    return rows


def undo_apply(change_request):
    """The approved undo, as its requester asked it; refused if other records conflict by now."""
    payload = change_request.payload
    change_set = ChangeSet.objects.select_for_update().filter(pk=payload["change_set"]).first()
    if change_set is None:
        raise ChangeConflict("The change set to undo no longer exists.")
    plan = change_set_undo_plan(change_set, lock=True)
    skipped = sorted(str(record.pk) for record in plan.conflicts)
    if skipped != payload["skipped"]:
        names = "; ".join(f"{record.label}: {record.problem}" for record in plan.conflicts[:10])
        raise ChangeConflict(f"Records of the change set changed since the undo was asked: {names}.")
    return change_set_undo(
        change_set=change_set,
        user=change_request.requested_by,
        skip_conflicts=payload["skip_conflicts"],
    )
