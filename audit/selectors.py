"""Reads of history shared by the audit log, the change-set page and tests."""

from collections import defaultdict

from django.db.models import OuterRef, Subquery
from django.urls import NoReverseMatch, reverse
from simple_history.utils import get_history_model_for_model

from .display import EMPTY, ValueDisplay, field_label, shown_fields
from .models import AuditEntry


def admin_change_url(content_type, object_id) -> str | None:
    try:
        return reverse(f"admin:{content_type.app_label}_{content_type.model}_change", args=[object_id])
    except NoReverseMatch:
        return None


def admin_history_url(content_type, object_id) -> str | None:
    try:
        return reverse(f"admin:{content_type.app_label}_{content_type.model}_history", args=[object_id])
    except NoReverseMatch:
        return None


def history_row(entry: AuditEntry):
    model = entry.content_type.model_class()
    return get_history_model_for_model(model).objects.filter(history_id=entry.history_id).first()


def entry_diff(entry: AuditEntry) -> list[tuple[str, str, str]]:
    """(field, old value, new value) for what this entry changed, as the change form shows them;
    all fields for a creation."""
    row = history_row(entry)
    if row is None:
        return []
    previous = row.prev_record if entry.action != AuditEntry.Action.CREATED else None
    return _changes(entry, row, previous, ValueDisplay())


def _changes(entry, row, before, show: ValueDisplay) -> list[tuple[str, str, str]]:
    model = row.instance_type
    if entry.action == AuditEntry.Action.DELETED:
        return []
    if before is None or entry.action != AuditEntry.Action.CHANGED:
        tracked = {t.attname for t in type(row).tracked_fields}
        return [
            (field_label(f), EMPTY, show.record_value(row, f))
            for f in shown_fields(model)
            if f.attname in tracked
        ]
    changes = []
    for change in row.diff_against(before, foreign_keys_are_objs=False).changes:
        field = model._meta.get_field(change.field)
        changes.append((field_label(field), show(field, change.old), show(field, change.new)))
    return changes


def record_as_of(model, pk, when):
    """The record as it was at ``when`` (from its history), or None if it didn't exist yet."""
    history = get_history_model_for_model(model).objects
    row = (
        history.filter(**{model._meta.pk.attname: pk}, history_date__lte=when)
        .order_by("-history_date", "-history_id")
        .first()
    )
    if row is None or row.history_type == "-":
        return None
    return row


def entries_with_changes(entries) -> list[tuple]:
    """(entry, [(field, old, new), ...]) for a page of audit entries, in a few queries per model.

    Each entry's history row and the row before it (same record) are fetched in two queries per
    model, however many entries the page holds.
    """
    entries = list(entries)
    show = ValueDisplay()
    by_model = defaultdict(list)
    for entry in entries:
        by_model[entry.content_type_id].append(entry)
    changes = {}
    for model_entries in by_model.values():
        model = model_entries[0].content_type.model_class()
        if model is None:
            continue
        history = get_history_model_for_model(model).objects
        pk_name = model._meta.pk.attname
        previous = (
            history.filter(**{pk_name: OuterRef(pk_name)}, history_id__lt=OuterRef("history_id"))
            .order_by("-history_id")
            .values("history_id")[:1]
        )
        rows = {
            row.history_id: row
            for row in history.filter(history_id__in=[e.history_id for e in model_entries]).annotate(
                previous_id=Subquery(previous)
            )
        }
        earlier = history.in_bulk([row.previous_id for row in rows.values() if row.previous_id])
        for entry in model_entries:
            row = rows.get(entry.history_id)
            if row is not None:
                changes[entry.pk] = _changes(entry, row, earlier.get(row.previous_id), show)
    return [(entry, changes.get(entry.pk, [])) for entry in entries]
