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
from functools import cached_property
from itertools import batched

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import get_history_model_for_model

from core.exceptions import DomainError
from core.locking import locked_in_pk_order

from . import registry
from .models import AuditEntry, ChangeSet
from .recording import change_set_recording, delete_with_history, history_bulk_record

BATCH = 1000


class UndoRefused(DomainError):
    pass


class UndoConflicts(DomainError):
    def __init__(self, plan):
        self.plan = plan
        names = "; ".join(f"{record.label}: {record.problem}" for record in plan.conflicts[:10])
        more = f"; and {len(plan.conflicts) - 10} more" if len(plan.conflicts) > 10 else ""
        super().__init__(
            f"{len(plan.conflicts)} record(s) can't be put back as they were: {names}{more}. Nothing was "
            "changed: skip them, or cancel."
        )


AUTO_FIELDS = {"created_at", "updated_at"}


@dataclass
class UndoRecord:
    model: type
    pk: object
    label: str
    before: object | None  # the history row just before the change set (None: none recorded)
    first_action: str  # what the change set first did to it: created / changed / deleted
    last_action: str  # and last
    current: object | None  # the record now (None if deleted); locked while an undo runs
    after: dict | None = None  # the values the change set left it with ({attname: value})
    compared: list = field(default_factory=list)  # (attname, label) of the fields compared with those
    later: list = field(default_factory=list)  # history rows written after the change set

    @property
    def created_by_change_set(self) -> bool:
        return self.first_action == AuditEntry.Action.CREATED

    @property
    def unknown_before(self) -> bool:
        """Changed by the change set, but no earlier version was recorded (it predates history)."""
        return self.before is None and not self.created_by_change_set

    @cached_property
    def drift(self) -> list[tuple[str, object, object]]:
        """(field, what it is now, what the change set left) for every field that differs now from
        what the change set left, whoever changed it (with or without a history row)."""
        if self.after is None:
            return []
        if self.last_action == AuditEntry.Action.DELETED:
            return [("record", "exists again", "deleted")] if self.current is not None else []
        if self.current is None:
            return [("record", "deleted", "there")]
        return [
            (label, getattr(self.current, attname), self.after[attname])
            for attname, label in self.compared
            if getattr(self.current, attname) != self.after[attname]
        ]

    @cached_property
    def problem(self) -> str | None:
        drift = self.drift
        if drift:
            return "changed since: " + "; ".join(
                f"{name} is now {_shown(now)} (the change set left {_shown(left)})"
                for name, now, left in drift
            )
        if self.later:
            return "changed again since"
        if self.unknown_before:
            return "no earlier version is recorded"
        return None


def _shown(value) -> str:
    text = "empty" if value in (None, "") else str(value)
    return text if len(text) <= 60 else text[:60] + "…"


@dataclass
class UndoPlan:
    change_set: ChangeSet
    records: list[UndoRecord]

    @property
    def conflicts(self) -> list[UndoRecord]:
        return [record for record in self.records if record.problem]

    def models(self) -> set:
        return {record.model for record in self.records}


def change_set_undo_plan(change_set: ChangeSet, *, lock: bool = False) -> UndoPlan:
    """What undoing ``change_set`` would do, record by record, and which records conflict.

    With ``lock`` (inside the undo's transaction) the records are row-locked in primary-key order
    (model by model) before they are compared with what the change set left: an edit committed
    before the lock is a conflict, and one attempted after it waits for the undo to commit.
    """
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
    models = sorted(
        ((ContentType.objects.get_for_id(ct).model_class(), objects) for ct, objects in touched.items()),
        key=lambda pair: pair[0]._meta.label,  # the same lock order in every undo
    )
    for model, objects in models:
        history = get_history_model_for_model(model)
        pk_name = model._meta.pk.attname
        compared = [
            (f.attname, f.verbose_name)
            for f in history.tracked_fields
            if not f.primary_key and f.attname not in AUTO_FIELDS
        ]
        to_pk = model._meta.pk.to_python
        for batch in batched(sorted(objects.items(), key=lambda item: to_pk(item[0])), BATCH, strict=False):
            pks = [to_pk(object_id) for object_id, _ in batch]
            # Lock first: what is read below is then what the undo will change.
            current_rows = (
                locked_in_pk_order(model.objects.all(), pks) if lock else model.objects.filter(pk__in=pks)
            )
            current = {obj.pk: obj for obj in current_rows}
            firsts, lasts = [seen[0] for _, seen in batch], [seen[1] for _, seen in batch]
            before_ids = (
                history.objects.filter(**{f"{pk_name}__in": pks}, history_id__lt=min(firsts))
                .values(pk_name)
                .annotate(latest=Max("history_id"))
                .values_list("latest", flat=True)
            )
            before = {getattr(row, pk_name): row for row in history.objects.filter(history_id__in=before_ids)}
            after = {
                row["history_id"]: row
                for row in history.objects.filter(history_id__in=lasts).values(
                    "history_id", *(attname for attname, _ in compared)
                )
            }
            later = defaultdict(list)
            for row in (
                history.objects.filter(**{f"{pk_name}__in": pks}, history_id__gt=min(lasts))
                .order_by("history_id")
                .select_related("history_user")
            ):
                later[getattr(row, pk_name)].append(row)
            for pk, (_, seen) in zip(pks, batch, strict=True):
                # Only history written after this change set's own last row of the record counts.
                records.append(
                    UndoRecord(
                        model=model,
                        pk=pk,
                        label=seen[4],
                        before=before.get(pk),
                        first_action=seen[2],
                        last_action=seen[3],
                        current=current.get(pk),
                        after=after.get(seen[1]),
                        compared=compared,
                        later=[row for row in later.get(pk, []) if row.history_id > seen[1]],
                    )
                )
    return UndoPlan(change_set=change_set, records=records)


def change_set_undo(*, change_set: ChangeSet, user, skip_conflicts: bool = False, why: str = ""):
    """Undo ``change_set``; returns the new "Undo of …" change set. All or nothing.

    Runs under row locks: the change set's (one undo at a time), then its records' in primary-key
    order; a record that differs from what the change set left is a conflict, never overwritten.
    An undo that must wait (``registry.guard_undo``: a rule of the shop wants it approved) returns
    what the guard wrote instead (a change request, saying ``why``), and undoes nothing.
    """
    with transaction.atomic():
        try:
            change_set = ChangeSet.objects.select_for_update().get(pk=change_set.pk)
        except ChangeSet.DoesNotExist as error:
            raise UndoRefused("This change set no longer exists.") from error
        undone_by = change_set.undone_by.first()
        if undone_by is not None:
            raise UndoRefused(f"“{change_set}” was already undone by “{undone_by}”.")
        plan = change_set_undo_plan(change_set, lock=True)
        _check_permissions(plan, user)
        if plan.conflicts and not skip_conflicts:
            raise UndoConflicts(plan)
        records = [record for record in plan.records if not record.problem]
        if not records:
            raise UndoRefused("Nothing left to undo: every record was changed again since.")
        for guard in registry.undo_guards():
            held = guard(change_set=change_set, plan=plan, user=user, skip_conflicts=skip_conflicts, why=why)
            if held is not None:
                return held
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
