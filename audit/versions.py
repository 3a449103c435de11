"""Versions of records: what a person saw when they opened a page that edits records, and who
changed what since (from the history written since).

A page that edits records (a change form and its inline rows) carries the ``Version`` of every record
it shows: the values of the fields the person can change, as opened, and the record's last history
row then (``versions_of``; ``PageVersions`` signs them all into one token, so what comes back is what
the server sent). When the person saves, the service locks the record and measures what changed
since against it (``audit.conflicts.edit_merge``).

A field shown to the person in a conflict is *resolved* in their version: it counts as seen at the
value shown then, so saving again with their choice goes through, unless it changed once more.

Anything that applies a change later (an approved change request) keeps the ``Version`` it was asked
against (``PageVersions.token``/``read``) and checks it the same way, under its own row lock.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from uuid import UUID

from django.apps import apps
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files.base import File
from django.db import models
from django.db.models import Max
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model

from core.exceptions import DomainError

RECORD = "__record__"  # a clash about the whole row: deleted on one side, changed on the other
THEIRS, YOURS = "theirs", "yours"
_SALT = "audit.versions"
AUTO_FIELDS = {"created_at", "updated_at"}  # stamped on every save: no one's change


def record_key(model, pk) -> str:
    return f"{model._meta.label_lower}:{pk}"


def comparable(model_field, value):
    """``value`` of ``model_field`` in one form, wherever it came from (the database, a form's cleaned
    data, a version's JSON): related rows by their key, files by their name, text as typed."""
    if value is None:
        return None
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, File):
        return value  # a new upload: unlike anything stored
    if isinstance(model_field, models.JSONField):
        return value
    target = model_field.target_field if model_field.is_relation else model_field
    try:
        return target.to_python(value)
    except ValidationError:
        return value


def as_json(model_field, value):
    value = comparable(model_field, value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, File):
        return value.name or ""
    return value


def shown(model_field, value) -> str:
    """A value as a person reads it in a comparison."""
    value = comparable(model_field, value)
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, File):
        return f"a new file ({value.name})"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.BooleanField):
        return "yes" if value else "no"
    if model_field.is_relation:
        related = model_field.related_model._base_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value} (deleted)"
    text = (
        json.dumps(value, sort_keys=True, ensure_ascii=False)
        if isinstance(value, dict | list)
        else str(value)
    )
    return text if len(text) <= 300 else text[:300] + "…"


def label_of(model_field) -> str:
    return str(model_field.verbose_name)


# --- versions -------------------------------------------------------------------------------------
@dataclass
class Version:
    """One record as a person opened it."""

    model: type
    pk: object
    values: dict  # field name -> value as opened (JSON)
    history_id: int | None = None  # the record's last history row then
    resolved: dict = field(default_factory=dict)  # field -> value a conflict showed them (JSON)

    @property
    def key(self) -> str:
        return record_key(self.model, self.pk)

    def fields(self) -> dict:
        found = {}
        for name in {**self.values, **self.resolved}:
            try:
                found[name] = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
        return found

    def opened(self) -> dict:
        """The values as opened (field -> comparable value)."""
        fields = self.fields()
        return {
            name: comparable(fields[name], value) for name, value in self.values.items() if name in fields
        }

    def base(self) -> dict:
        """What the person worked from: the values opened, and those a conflict showed them since."""
        fields = self.fields()
        return {
            name: comparable(fields[name], value)
            for name, value in {**self.values, **self.resolved}.items()
            if name in fields
        }


class VersionUnreadable(DomainError):
    pass


class PageVersions(dict):
    """The versions of every record a page shows (record key -> ``Version``), carried by the page as
    one signed token, so what comes back is what the server sent."""

    def token(self) -> str:
        payload = {key: [v.values, v.history_id, v.resolved] for key, v in self.items()}
        return signing.dumps(payload, salt=_SALT, compress=True)

    @classmethod
    def read(cls, token: str) -> "PageVersions":
        try:
            payload = signing.loads(token, salt=_SALT)
            pages = cls()
            for key, (values, history_id, resolved) in payload.items():
                label, _, pk = key.rpartition(":")
                model = apps.get_model(label)
                pk = model._meta.pk.to_python(pk)
                pages[record_key(model, pk)] = Version(model, pk, values, history_id, resolved)
        except (signing.BadSignature, ValueError, TypeError, LookupError, ValidationError) as error:
            raise VersionUnreadable(
                "This page's record of what you opened can't be read: reload the page and make your "
                "changes again."
            ) from error
        return pages

    def of(self, model, pk) -> Version | None:
        return self.get(record_key(model, pk))


def versions_of(records) -> PageVersions:
    """The versions of ``records`` ((record, field names) pairs) as they are now: the values from the
    records, the last history rows in one query per model."""
    pages, by_model = PageVersions(), defaultdict(list)
    for record, names in records:
        model = type(record)
        fields = [model._meta.get_field(name) for name in names]
        values = {f.name: as_json(f, getattr(record, f.attname)) for f in fields}
        pages[record_key(model, record.pk)] = Version(model, record.pk, values)
        by_model[model].append(record.pk)
    for model, pks in by_model.items():
        history = _history(model)
        if history is None:
            continue
        pk_name = model._meta.pk.attname
        latest = (
            history.objects.filter(**{f"{pk_name}__in": pks})
            .values(pk_name)
            .annotate(latest=Max("history_id"))
            .values_list(pk_name, "latest")
        )
        for pk, history_id in latest:
            pages[record_key(model, pk)].history_id = history_id
    return pages


def _history(model):
    try:
        return get_history_model_for_model(model)
    except NotHistoricalModelError:
        return None


# --- who changed what since -------------------------------------------------------------------------
@dataclass
class Author:
    who: str
    when: datetime | None

    @property
    def at(self) -> str:
        if self.when is None:
            return ""
        local = timezone.localtime(self.when)
        today = timezone.localdate()
        return f" at {local:%H:%M}" if local.date() == today else f" on {local:%Y-%m-%d} at {local:%H:%M}"


SOMEONE = Author("someone", None)


def _person(user) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()


def changes_since(version: Version, names) -> tuple[dict, Author | None]:
    """Who last changed each of ``names`` after ``version`` was opened, and who deleted the record,
    from its history rows written since."""
    history = _history(version.model)
    if history is None:
        return {}, None
    fields = version.fields()
    previous = version.opened()
    authors, deleted = {}, None
    rows = (
        history.objects.filter(
            **{version.model._meta.pk.attname: version.pk}, history_id__gt=version.history_id or 0
        )
        .order_by("history_id")
        .select_related("history_user")
    )
    for row in rows:
        author = Author(_person(row.history_user), row.history_date)
        if row.history_type == "-":
            deleted = author
            continue
        for name in names:
            value = comparable(fields[name], getattr(row, fields[name].attname, None))
            if value != previous.get(name):
                authors[name], previous[name] = author, value
    return authors, deleted
