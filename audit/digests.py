"""What an audit entry's digest covers, and the digests of many entries read at once.

The rules live in ``audit/verify_package.py`` (standard library only): SHA-256 over the entry's
canonical JSON, compact with sorted keys. ``canonical_entry`` builds that JSON's object, for packages
and for reading one entry; ``entry_leaves`` writes the same text straight from the database's row (no
dict, no model field decoding, no general JSON encoder per entry), for sealing and checking hundreds
of thousands of entries. Both must give the same bytes: the tests seal with one and verify with the
other.
"""

import json
from datetime import UTC
from json.encoder import encode_basestring

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, DateTimeField, F, Func, TextField, Value
from django.db.models.functions import Cast

from .batch import ENTRY_COLUMNS
from .verify_package import canonical_text, leaf_digest

ENTRY_FIELDS = ("id", "tenant_id", *ENTRY_COLUMNS)  # every column the digest covers


def canonical_entry(values: dict, model_label: str) -> dict:
    """What an entry's digest covers. ``model_label`` is ``app.model`` (content type ids differ
    between databases; their labels don't)."""
    return {
        "id": values["id"],
        "shop": values["tenant_id"],
        "when": values["created_at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "user": values["user_id"],
        "model": model_label,
        "object_id": values["object_id"],
        "object": values["object_repr"],
        "action": values["action"],
        "reason": values["reason"],
        "changed_fields": list(values["changed_fields"] or []),
        "history_id": values["history_id"],
        "change_set": values["change_set_id"],
    }


def entry_type_labels() -> dict[int, str]:
    return {ct.pk: f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.all()}


def digests_of(entries: list[dict], labels: dict[int, str]) -> list[bytes]:
    return [
        leaf_digest(canonical_text(canonical_entry(entry, labels[entry["content_type_id"]])))
        for entry in entries
    ]


# --- Many entries: the canonical text written from the row --------------------------------------------
# ``created_at`` as ``isoformat(timespec="microseconds")`` of its UTC time, and ``changed_fields`` as
# the database's JSON text, formatted on the server.
_ROW_FIELDS = ("id", "tenant_id", "when_utc", "user_id", "content_type_id", "object_id", "object_repr")
_ROW_FIELDS += ("action", "reason", "changed_text", "history_id", "change_set_id")
_UTC_ISO = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def entry_rows(entries):
    """``entries`` (an AuditEntry queryset) as the rows ``entry_leaves`` reads."""
    return entries.annotate(
        when_utc=Func(
            Func(Value("UTC"), F("created_at"), function="timezone", output_field=DateTimeField()),
            Value(_UTC_ISO),
            function="to_char",
            output_field=CharField(),
        ),
        changed_text=Cast("changed_fields", TextField()),
    ).values_list(*_ROW_FIELDS)


def _number(value: int | None) -> str:
    return "null" if value is None else str(value)  # as json.dumps writes an int or None


def _changed(text: str | None) -> str:
    if text == "[]":  # nearly every entry: nothing to decode
        return text
    return _CANONICAL(list(json.loads(text) or []) if text is not None else [])


def entry_leaves(rows, labels: dict[int, str]):
    """``(id, digest)`` of each row of ``entry_rows``: the digest of the text ``canonical_text`` writes
    for ``canonical_entry`` (keys in sorted order, strings escaped as ``json.dumps`` does with
    ``ensure_ascii=False``), without building either."""
    for row in rows:
        entry_id, shop, when, user, type_id, object_id, text, action, reason, changed, history, change = row
        canonical = (
            f'{{"action":{encode_basestring(action)},"change_set":{_number(change)},'
            f'"changed_fields":{_changed(changed)},"history_id":{_number(history)},"id":{entry_id},'
            f'"model":{encode_basestring(labels[type_id])},"object":{encode_basestring(text)},'
            f'"object_id":{encode_basestring(object_id)},"reason":{encode_basestring(reason)},'
            f'"shop":{shop},"user":{_number(user)},"when":"{when}"}}'
        )
        yield entry_id, leaf_digest(canonical)
