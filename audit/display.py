"""A recorded value as the change form would show it: choices by their label, related records by name
(linked to their page), Yes/No, numbers grouped, dates in the open time zone, JSON laid out, fields by
their verbose name. Used by the history, the record "as of" a date, change sets and the audit log."""

import datetime as dt
import json

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.text import capfirst

EMPTY = "—"
# Links inside tables and highlighted rows: readable on light and dark backgrounds.
LINK_CLASSES = "text-link underline"
SYSTEM = "System"  # who made a change that no person made (a task, a migration, the demo data's loader)


def field_label(field) -> str:
    return capfirst(str(field.verbose_name))


def field_labels(model, names) -> list[str]:
    """Field names as the change form labels them ("Published" for ``is_published``)."""
    labels = []
    for name in names:
        try:
            labels.append(field_label(model._meta.get_field(name)) if model else name)
        except FieldDoesNotExist:  # a field removed since the change was recorded
            labels.append(name)
    return labels


def shown_fields(model) -> list:
    """The fields a person reads in a record's history: not its key, nor the shop it belongs to."""
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field.name != "tenant" and not field.name.startswith("history_")
    ]


def author(user) -> str:
    """Who changed a record: the person's name, or "System" when nobody did."""
    if user is None:
        return SYSTEM
    return user.get_full_name() or user.get_username()


class ValueDisplay:
    """Formats values of one page. Related records are read once each (a page shows a category in
    many rows)."""

    def __init__(self):
        self._related: dict[tuple, object] = {}

    def __call__(self, field, value):
        if value is None or value == "":
            return EMPTY
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.BooleanField):
            return "Yes" if value else "No"
        if field.is_relation and field.many_to_one:
            return self._related_link(field, value)
        if isinstance(field, models.DateTimeField) and isinstance(value, dt.datetime):
            return date_format(timezone.localtime(value), "DATETIME_FORMAT")
        if isinstance(field, models.DateField) and isinstance(value, dt.date):
            return date_format(value, "DATE_FORMAT")
        # Grouped as the lists show amounts and counts (core.money): 1,102.08, not 1102.08.
        if isinstance(field, models.DecimalField):
            return number_format(value, field.decimal_places, use_l10n=True, force_grouping=True)
        if isinstance(field, (models.IntegerField, models.FloatField)):
            return number_format(value, use_l10n=True, force_grouping=True)
        if isinstance(field, models.JSONField):
            text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
            return format_html('<pre class="bo-json">{}</pre>', text)
        return str(value)

    def _related_link(self, field, value):
        model = field.related_model
        if isinstance(value, models.Model):
            record, pk = value, value.pk
        else:
            pk = getattr(value, "pk", value)  # simple-history's DeletedObject names the deleted record's key
            key = (model, pk)
            if key not in self._related:
                self._related[key] = model._base_manager.filter(pk=pk).first()
            record = self._related[key]
        if record is None or not getattr(record, "pk", None):
            return f"{capfirst(model._meta.verbose_name)} {pk} (deleted)"
        url = admin_change_url_for(record)
        if url is None:
            return str(record)
        return format_html('<a href="{}" class="{}">{}</a>', url, LINK_CLASSES, record)

    def record_value(self, record, field):
        """``field`` of ``record`` (a live or historical row) as shown."""
        return self(field, getattr(record, field.attname, None))


def admin_change_url_for(record) -> str | None:
    opts = record._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
    except NoReverseMatch:
        return None
