"""Undoing a whole change set (a bulk action, an import, a revert, an undo) in one step.

Every record the change set touched goes back to its state just before the change set, as a new
change set ("Undo of …") with one history row per record, in one transaction. Records changed again
since are conflicts: listed, and skipped only when the user says so. Models with rules of their own
undo through the handlers their apps register (``audit.registry.track``: products restore stock
through the stock ledger; orders refuse, because only their status actions may move stock and money).

Work is done in batches with a bounded number of queries per batch, never a query per row.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import batched

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import get_history_model_for_model

from core.exceptions import DomainError

from . import registry
from .models import AuditEntry, ChangeSet
from .recording import change_set_recording, delete_with_history, history_bulk_record

BATCH = 1000


class UndoRefused(DomainError):
    pass


class UndoConflicts(DomainError):
    def __init__(self, plan):
        self.plan = plan
        names = ", ".join(record.label for record in plan.conflicts[:10])
        more = f" and {len(plan.conflicts) - 10} more" if len(plan.conflicts) > 10 else ""
        super().__init__(
            f"{len(plan.conflicts)} record(s) can't be put back as they were (changed again since, or no "
            f"earlier version recorded): {names}{more}. Skip them, or cancel."
        )


@dataclass
class UndoRecord:
    model: type
    pk: object
    label: str
    before: object | None  # the history row just before the change set (None: none recorded)
    first_action: str  # what the change set first did to it: created / changed / deleted
    last_action: str  # and last
    current: object | None  # the record now (None if deleted)
    later: list = field(default_factory=list)  # history rows written after the change set

    @property
    def created_by_change_set(self) -> bool:
        return self.first_action == AuditEntry.Action.CREATED

    @property
    def unknown_before(self) -> bool:
        """Changed by the change set, but no earlier version was recorded (it predates history)."""
        return self.before is None and not self.created_by_change_set

    @property
    def problem(self) -> str | None:
        if self.later:
            return "changed again since"
        if self.unknown_before:
            return "no earlier version is recorded"
        return None


@dataclass
class UndoPlan:
    change_set: ChangeSet
    records: list[UndoRecord]

    @property
    def conflicts(self) -> list[UndoRecord]:
        return [record for record in self.records if record.problem]

    def models(self) -> set:
        return {record.model for record in self.records}


def change_set_undo_plan(change_set: ChangeSet) -> UndoPlan:
    """What undoing ``change_set`` would do, record by record, and which records conflict."""
    touched: dict[int, dict[str, list]] = defaultdict(dict)
    entries = (
        AuditEntry.objects.filter(change_set=change_set)
        .order_by("id")
        .values_list("content_type_id", "object_id", "history_id", "action", "object_repr")
    )
    for content_type_id, object_id, history_id, action, label in entries.iterator(chunk_size=5000):
        seen = touched[content_type_id].get(object_id)
        if seen is None:
            touched[content_type_id][object_id] = [history_id, history_id, action, action, label]
        else:
            seen[1], seen[3] = history_id, action
    records = []
    for content_type_id, objects in touched.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        history = get_history_model_for_model(model)
        pk_name = model._meta.pk.attname
        for batch in batched(objects.items(), BATCH, strict=False):
            pks = [model._meta.pk.to_python(object_id) for object_id, _ in batch]
            first = min(seen[0] for _, seen in batch)
            last = max(seen[1] for _, seen in batch)
            before_ids = (
                history.objects.filter(**{f"{pk_name}__in": pks}, history_id__lt=first)
                .values(pk_name)
                .annotate(latest=Max("history_id"))
                .values_list("latest", flat=True)
            )
            before = {getattr(row, pk_name): row for row in history.objects.filter(history_id__in=before_ids)}
            later = defaultdict(list)
            for row in (
                history.objects.filter(**{f"{pk_name}__in": pks}, history_id__gt=last)
                .order_by("history_id")
                .select_related("history_user")
            ):
                later[getattr(row, pk_name)].append(row)
            current = model.objects.in_bulk(pks)
            for pk, (_, seen) in zip(pks, batch, strict=True):
                records.append(
                    UndoRecord(
                        model=model,
                        pk=pk,
                        label=seen[4],
                        before=before.get(pk),
                        first_action=seen[2],
                        last_action=seen[3],
                        current=current.get(pk),
                        later=later.get(pk, []),
                    )
                )
    return UndoPlan(change_set=change_set, records=records)


def change_set_undo(*, change_set: ChangeSet, user, skip_conflicts: bool = False) -> ChangeSet:
    """Undo ``change_set``; returns the new "Undo of …" change set. All or nothing."""
    if change_set.undone_by.exists():
        undo = change_set.undone_by.first()
        raise UndoRefused(f"“{change_set}” was already undone by “{undo}”.")
    with transaction.atomic():
        plan = change_set_undo_plan(change_set)
        _check_permissions(plan, user)
        if plan.conflicts and not skip_conflicts:
            raise UndoConflicts(plan)
        records = [record for record in plan.records if not record.problem]
        if not records:
            raise UndoRefused("Nothing left to undo: every record was changed again since.")
        reason = f"Undo of {change_set.title}"
        with change_set_recording(
            kind=ChangeSet.Kind.UNDO, title=reason, user=user, undoes=change_set
        ) as undo:
            by_model = defaultdict(list)
            for record in records:
                by_model[record.model].append(record)
            try:
                for model, model_records in by_model.items():
                    handler = registry.undo_handler(model) or restore_records
                    handler(records=model_records, reason=reason, user=user)
            except IntegrityError as error:
                raise UndoRefused(f"The earlier values clash with today's data: {error}") from error
    return undo


def _check_permissions(plan: UndoPlan, user) -> None:
    """The same permissions as the change itself, on every model involved."""
    missing = set()
    for record in plan.records:
        opts = record.model._meta
        needed = "add" if record.created_by_change_set else "change"
        if record.last_action == AuditEntry.Action.DELETED:
            needed = "delete"
        if not user.has_perm(f"{opts.app_label}.{needed}_{opts.model_name}"):
            missing.add(f"{needed} {opts.verbose_name_plural}")
    if missing:
        raise UndoRefused(
            f"You may not undo this change set: it needs permission to {', '.join(sorted(missing))}."
        )


# --- restoring records ------------------------------------------------------------------------------
AUTO_FIELDS = {"created_at", "updated_at"}


def restorable_values(model, version, *, keep=()) -> dict:
    return {
        f.attname: getattr(version, f.attname)
        for f in type(version).tracked_fields
        if not f.primary_key and f.attname not in AUTO_FIELDS and f.attname not in keep
    }


def restore_records(*, records, reason, user, keep=()):
    """Put records back as they were before: changed ones get their old values, records the change
    set created are deleted (if nothing refers to them), records it deleted come back."""
    model = records[0].model
    changed, created, deleted = [], [], []
    for record in records:
        if record.created_by_change_set:
            if record.current is not None:
                created.append(record.current)
        elif record.current is None:
            deleted.append(record.before.instance)
        else:
            changed.append((record.current, restorable_values(model, record.before, keep=keep)))
    restore_changed(model, changed, reason=reason, user=user)
    if created:
        delete_with_history(created, reason=reason, user=user)
    if deleted:
        model.objects.bulk_create(deleted)
        history_bulk_record(deleted, reason=reason, user=user, history_type="+")


def restore_changed(model, pairs, *, reason, user):
    """Set old values on current objects; one UPDATE batch and one history batch per 1,000 rows."""
    for batch in batched(pairs, BATCH, strict=False):
        objs, fields, per_object = [], set(), []
        for obj, values in batch:
            diff = [name for name, value in values.items() if getattr(obj, name) != value]
            if not diff:
                continue
            for name in diff:
                setattr(obj, name, values[name])
            objs.append(obj)
            fields.update(diff)
            per_object.append(diff)
        if not objs:
            continue
        now = timezone.now()
        has_updated_at = any(f.attname == "updated_at" for f in model._meta.concrete_fields)
        for obj in objs:
            if has_updated_at:
                obj.updated_at = now
        _update_fields(model, objs, per_object, now=now if has_updated_at else None)
        history_bulk_record(objs, reason=reason, user=user, diffs=per_object)


def _update_fields(model, objs, diffs, *, now) -> None:
    """Write each object's changed fields. Rows that take the same values get one
    ``UPDATE … WHERE pk IN (…)`` (a bulk publish undone is a handful of statements); the rest go
    through ``bulk_update``."""
    groups: dict[tuple, list] = defaultdict(list)
    for obj, diff in zip(objs, diffs, strict=True):
        values = tuple((name, _hashable(getattr(obj, name))) for name in sorted(diff))
        groups[values].append(obj)
    stamp = {"updated_at": now} if now is not None else {}
    singles = []
    for values, members in groups.items():
        if len(members) == 1 and len(groups) > 20:
            singles.append(members[0])
            continue
        first = members[0]
        model.objects.filter(pk__in=[obj.pk for obj in members]).update(
            **{name: getattr(first, name) for name, _ in values}, **stamp
        )
    if singles:
        single_pks = {obj.pk for obj in singles}
        fields = {
            name for obj, diff in zip(objs, diffs, strict=True) if obj.pk in single_pks for name in diff
        }
        model.objects.bulk_update(singles, [*sorted(fields), *stamp])


def _hashable(value):
    return repr(value) if isinstance(value, dict | list) else value
