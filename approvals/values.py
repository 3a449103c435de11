"""Records' values as a change request keeps them (JSON), and the check that they still hold.

A request keeps the values its change was decided on (``snapshot``): when it is approved, its records
are locked in primary-key order and compared with them (``drift``), as an undo compares records with
what its change set left. A record changed since is a conflict, never overwritten.
"""

import datetime as dt
import uuid
from decimal import Decimal

from django.db import models

from core.locking import locked_in_pk_order


def json_value(value):
    """A field's value as JSON keeps it: decimals, ids, dates as text; a record as its primary key."""
    if isinstance(value, models.Model):
        value = value.pk
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def shown(value) -> str:
    """A value as a person reads it in a request (empty shows as "empty")."""
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return text if len(text) <= 80 else text[:80] + "…"


def encode_data(model, data: dict) -> dict:
    """Form values (field name -> value) as JSON, for a request's payload."""
    return {name: json_value(value) for name, value in data.items() if model._meta.get_field(name)}


def decode_data(model, encoded: dict) -> dict:
    """The payload's values back as the form gave them (a related record as the record)."""
    data = {}
    for name, value in encoded.items():
        field = model._meta.get_field(name)
        if field.is_relation and value is not None:
            data[name] = field.related_model.objects.get(pk=value)
        elif isinstance(field, models.JSONField):
            data[name] = value
        else:
            data[name] = field.to_python(value)
    return data


def field_changes(record, data: dict) -> list[dict]:
    """What ``data`` would change on ``record``: one row per field, old -> new, as people read them."""
    rows = []
    for name, new in data.items():
        field = record._meta.get_field(name)
        old = getattr(record, name)
        if json_value(old) == json_value(new):
            continue
        rows.append(
            {"record": str(record), "field": str(field.verbose_name), "old": shown(old), "new": shown(new)}
        )
    return rows


def snapshot(records, fields: list[str]) -> dict:
    """The values of ``fields`` (attribute names) of ``records`` now, to be found again on approval."""
    return {
        "fields": list(fields),
        "rows": {
            str(record.pk): [json_value(getattr(record, name)) for name in fields] for record in records
        },
    }


def drift(model, expected: dict, *, lock: bool) -> list[str]:
    """Sentences naming each record that no longer has the values of ``expected`` (``snapshot``); with
    ``lock`` (inside the approval's transaction) the records are locked in primary-key order first, so
    what is compared is what the change will find."""
    rows = expected.get("rows") or {}
    if not rows:
        return []
    fields = expected["fields"]
    to_pk = model._meta.pk.to_python
    pks = [to_pk(pk) for pk in rows]
    queryset = locked_in_pk_order(model.objects.all(), pks) if lock else model.objects.filter(pk__in=pks)
    current = {str(record.pk): record for record in queryset}
    problems = []
    for pk, values in rows.items():
        record = current.get(pk)
        if record is None:
            problems.append(f"{model._meta.verbose_name} {pk} was deleted since")
            continue
        for name, was in zip(fields, values, strict=True):
            now = json_value(getattr(record, name))
            if now != was:
                label = model._meta.get_field(name.removesuffix("_id")).verbose_name
                problems.append(f"{record}: {label} is now {shown(now)} (it was {shown(was)} when asked)")
    return problems
