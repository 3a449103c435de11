"""Conflicts between two people's edits of one record, found under the record's row lock (see
``audit.versions`` for the versions they are measured against).

- ``edit_merge``: which of the person's changes to apply on the record as it is now; ``EditConflict``
  (nothing written) when someone changed one of the same fields since, with both values side by side;
- ``edit_delete_check``, ``edit_gone``, ``note_gone``: the same for deleting a row and for a row
  deleted since; ``rows_merge``: all of these for the rows of a page (inline rows) at once;
- ``noting`` and ``merge_message``: "Ada changed the price at 10:14; your new name was applied to
  Ada's version."
"""

from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from simple_history.utils import get_history_model_for_model

from core.exceptions import DomainError
from core.locking import locked_in_pk_order

from .versions import (
    AUTO_FIELDS,
    RECORD,
    SOMEONE,
    Author,
    Version,
    as_json,
    changes_since,
    comparable,
    label_of,
    record_key,
    shown,
)


# --- conflicts, and notes of what was merged ---------------------------------------------------------
@dataclass
class Clash:
    """One field (or a whole row) both people changed: the value before either, theirs and yours."""

    key: str
    record: str
    field: str  # a field's name, or RECORD
    label: str
    before: str
    theirs: str
    yours: str
    author: Author
    seen: dict  # what choosing marks as seen: field -> their value (JSON)

    @property
    def choice_name(self) -> str:
        return f"_keep:{self.key}:{self.field}"


@dataclass
class Change:
    """Something another person changed since the page was opened, kept as it is."""

    label: str
    author: Author
    deleted: bool = False


@dataclass
class Merged:
    """What another person changed on a record since it was opened, and which of yours went on top."""

    key: str
    record: str
    changes: list
    applied: list  # labels of your fields applied


@dataclass
class RowEdit:
    """What a person did to one row of a page (an inline row), for the service that writes it."""

    pk: object
    data: dict  # field -> value, only what the person changed
    version: Version | None
    record: str  # what the person calls the row


class EditConflict(DomainError):
    """Someone changed what you changed since you opened it; nothing was written."""

    def __init__(self, clashes, kept=()):
        self.clashes, self.kept = list(clashes), list(kept)
        super().__init__(self.summary())

    @classmethod
    def combine(cls, conflicts) -> "EditConflict":
        conflicts = list(conflicts)
        return cls([c for e in conflicts for c in e.clashes], [k for e in conflicts for k in e.kept])

    def summary(self) -> str:
        what = "; ".join(
            f"{clash.author.who} {'deleted' if clash.theirs == 'deleted' else 'changed'} "
            f"{_the(clash)}{clash.author.at}"
            for clash in self.clashes
        )
        return (
            f"Since you opened this page, {what}: nothing was saved. Compare the versions and choose, "
            "field by field, which to keep; then save again."
        )

    def resolved(self) -> dict:
        """key -> {field: value}: what the person has now seen of each record."""
        seen = defaultdict(dict)
        for clash in self.clashes:
            seen[clash.key].update(clash.seen)
        return dict(seen)


def _the(clash: Clash) -> str:
    if clash.field == RECORD:
        return clash.record
    return f"the {clash.label} of {clash.record}"


_notes: ContextVar = ContextVar("edit_notes", default=None)


@contextmanager
def noting():
    """Collect the ``Merged`` notes of the edits made inside (for the message after a save)."""
    notes = []
    token = _notes.set(notes)
    try:
        yield notes
    finally:
        _notes.reset(token)


def _note(note: Merged) -> None:
    notes = _notes.get()
    if notes is not None:
        notes.append(note)


def named(record) -> str:
    """'product image “Front”': a row as people call it in a sentence about a page's rows."""
    return f"{record._meta.verbose_name} “{record}”"


def locked_current(record):
    """``record``'s row as it is now, locked until the transaction ends (None: deleted since)."""
    return locked_in_pk_order(type(record)._default_manager.all(), [record.pk]).first()


def copy_values(source, target) -> None:
    """Give the caller's copy of a record the values saved (the other person's changes included)."""
    if source is not target:
        for model_field in type(source)._meta.concrete_fields:
            setattr(target, model_field.attname, getattr(source, model_field.attname))


def edit_merge(current, *, data: dict, version: Version | None, record: str | None = None) -> dict:
    """Under the caller's row lock on ``current``: the changes of ``data`` (field -> value) to apply on
    the record as it is now. Without a ``version`` (no page was opened: a command, an import) they
    apply as they are. Raises ``EditConflict`` when someone changed one of the same fields to
    something else since ``version``; else notes whose changes stay (``noting``), also when the
    person changed nothing of this record (only other rows of the page)."""
    if version is None:
        return data
    fields, base = version.fields(), version.base()
    now = {name: comparable(f, getattr(current, f.attname)) for name, f in fields.items()}
    theirs = [name for name, before in base.items() if now[name] != before]
    if not theirs:
        return data
    authors, _ = changes_since(version, theirs)
    record = record or str(current)
    clashes = [
        Clash(
            key=version.key,
            record=record,
            field=name,
            label=label_of(fields[name]),
            before=shown(fields[name], version.opened().get(name)),
            theirs=shown(fields[name], now[name]),
            yours=shown(fields[name], data[name]),
            author=authors.get(name, SOMEONE),
            seen={name: as_json(fields[name], now[name])},
        )
        for name in data
        if name in theirs and comparable(fields[name], data[name]) != now[name]
    ]
    clashing = {clash.field for clash in clashes}
    kept = [
        Change(label_of(fields[name]), authors.get(name, SOMEONE)) for name in theirs if name not in clashing
    ]
    if clashes:
        raise EditConflict(clashes, kept)
    applied = [label_of(_field(type(current), name)) for name in data]
    _note(Merged(version.key, record, kept, applied))
    return data


def edit_delete_check(current, *, version: Version | None, record: str | None = None) -> None:
    """Under the caller's row lock: refuse to delete a row someone changed since ``version``
    (deleting it would throw their change away unseen)."""
    if version is None:
        return
    fields, base = version.fields(), version.base()
    now = {name: comparable(f, getattr(current, f.attname)) for name, f in fields.items()}
    theirs = [name for name, before in base.items() if now[name] != before]
    if not theirs:
        return
    authors, _ = changes_since(version, theirs)
    dated = [author for author in authors.values() if author.when is not None]
    author = max(dated, key=lambda a: a.when) if dated else SOMEONE
    raise EditConflict(
        [
            Clash(
                key=version.key,
                record=record or str(current),
                field=RECORD,
                label="the whole row",
                before="as you opened it",
                theirs="changed: "
                + "; ".join(f"{label_of(fields[n])} is now {shown(fields[n], now[n])}" for n in theirs),
                yours="deleted",
                author=author,
                seen={name: as_json(fields[name], now[name]) for name in theirs},
            )
        ]
    )


def edit_gone(model, edit: RowEdit) -> EditConflict:
    """The conflict of a row deleted since it was opened, which the person changed."""
    author = SOMEONE
    if edit.version is not None:
        _, deleted = changes_since(edit.version, [])
        author = deleted or SOMEONE
    return EditConflict(
        [
            Clash(
                key=record_key(model, edit.pk),
                record=edit.record,
                field=RECORD,
                label="the whole row",
                before="as you opened it",
                theirs="deleted",
                yours="changed: " + "; ".join(_named(model, name, v) for name, v in edit.data.items()),
                author=author,
                seen={RECORD: "deleted"},
            )
        ]
    )


def rows_merge(model, current: dict, *, changed=(), deleted=()) -> tuple[list, list]:
    """Under the caller's lock on the rows of a page (``current``: pk -> ``model`` row as it is now;
    a row deleted since is absent): which of the person's ``changed`` and ``deleted`` rows
    (``RowEdit``s) to write. Returns ``(updates, deletions)``: (row, data) pairs and rows. A row
    deleted since that the person also deleted is left alone; every clash (a row changed or deleted
    by someone else) is raised together as one ``EditConflict``, before anything is written."""
    updates, deletions, conflicts = [], [], []
    for edit in changed:
        row = current.get(edit.pk)
        try:
            if row is None:
                raise edit_gone(model, edit)
            updates.append((row, edit_merge(row, data=edit.data, version=edit.version, record=named(row))))
        except EditConflict as conflict:
            conflicts.append(conflict)
    for edit in deleted:
        row = current.get(edit.pk)
        if row is None:
            continue  # deleted by someone else already
        try:
            edit_delete_check(row, version=edit.version, record=named(row))
            deletions.append(row)
        except EditConflict as conflict:
            conflicts.append(conflict)
    if conflicts:
        raise EditConflict.combine(conflicts)
    return updates, deletions


def note_gone(version: Version | None, *, record: str) -> None:
    """Say that a row the person left alone was deleted by someone since it was opened."""
    if version is None:
        return
    _, deleted = changes_since(version, [])
    _note(Merged(version.key, record, [Change("", deleted or SOMEONE, deleted=True)], []))


def _named(model, name, value) -> str:
    return f"{label_of(_field(model, name))} {shown(_field(model, name), value)}"


def _field(model, name):
    return model._meta.get_field(name)


def changed_since(model, pk, history_id: int) -> str | None:
    """'Ada changed the price at 10:14': what was saved to a record after its history row
    ``history_id`` (where a page that acts on the whole record was opened); None if nothing was."""
    history = get_history_model_for_model(model)
    seen = history.objects.filter(history_id=history_id, **{model._meta.pk.attname: pk}).first()
    if (
        seen is None
        or not history.objects.filter(history_id__gt=history_id, **{model._meta.pk.attname: pk}).exists()
    ):
        return None
    fields = [f for f in history.tracked_fields if not f.primary_key and f.attname not in AUTO_FIELDS]
    version = Version(model, pk, {f.name: as_json(f, getattr(seen, f.attname)) for f in fields}, history_id)
    authors, _ = changes_since(version, [f.name for f in fields])
    parts = [
        f"{author.who} changed the {label_of(model._meta.get_field(name))}{author.at}"
        for name, author in authors.items()
    ]
    return _joined(parts) if parts else "someone saved it again"


def merge_message(notes, *, main_key: str | None = None) -> str:
    """'Ada changed the price at 10:14; your new name was applied to Ada's version.' for each record
    someone else changed since the page was opened."""
    sentences = []
    for note in notes:
        of = "" if note.key == main_key else f" of {note.record}"
        parts = []
        for change in note.changes:
            if change.deleted:
                parts.append(f"{change.author.who} deleted {note.record}{change.author.at}")
            else:
                parts.append(f"{change.author.who} changed the {change.label}{of}{change.author.at}")
        if not parts:
            continue
        sentence = _joined(parts)
        if note.applied:
            people = {change.author.who for change in note.changes}
            whose = f"{people.pop()}'s version" if len(people) == 1 else "their version"
            whose = "the version saved since" if whose == "someone's version" else whose
            verb = "was" if len(note.applied) == 1 else "were"
            sentence += f"; your new {_joined(note.applied)} {verb} applied to {whose}"
        sentences.append(
            sentence.replace("someone", "Someone", 1) if sentence.startswith("someone") else sentence
        )
    return " ".join(f"{sentence}." for sentence in sentences)


def _joined(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
