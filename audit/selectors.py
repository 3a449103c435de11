"""Reads of history shared by the audit log, the change-set page and tests."""

from django.urls import NoReverseMatch, reverse
from simple_history.utils import get_history_model_for_model

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
    """(field, old value, new value) for what this entry changed; all fields for a creation."""
    row = history_row(entry)
    if row is None:
        return []
    previous = row.prev_record if entry.action != AuditEntry.Action.CREATED else None
    if previous is None:
        return [
            (field.verbose_name, "", _display(row, field))
            for field in row.instance_type._meta.concrete_fields
            if entry.action != AuditEntry.Action.DELETED
        ]
    delta = row.diff_against(previous)
    return [(change.field, _text(change.old), _text(change.new)) for change in delta.changes]


def _display(row, field) -> str:
    return _text(getattr(row, field.attname, ""))


def field_text(record, field) -> str:
    """A field's value as a person reads it: choices by label, foreign keys by the id."""
    if field.choices:
        value = getattr(record, field.attname)
        return str(dict(field.flatchoices).get(value, value))
    return _text(getattr(record, field.attname, ""))


def _text(value) -> str:
    return "" if value is None else str(value)


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
