"""Writing history: one history row per changed object, plus its entry in the audit log.

Single saves are recorded by django-simple-history's signals (``audit.signals``). Services that
change many rows with ``QuerySet.update()`` (which writes no history) call ``history_bulk_record``
with the objects as they now are, so every changed row still gets its own history row.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from core.bulk import next_ids, write_rows

from .batch import (  # noqa: F401 - history_batch and rows_write_with_history are used from here
    ENTRY_COLUMNS,
    HISTORY_TYPE_ACTION,
    batch_hold_history,
    batch_open,
    history_batch,
    rows_write_with_history,
    statement_with_history,
)
from .models import AuditEntry, ChangeSet

# Set while a multi-row operation runs, so every history row it writes points to it.
current_change_set: ContextVar = ContextVar("current_change_set", default=None)
# Set while a change runs on someone else's word (an approved change request): every reason written
# meanwhile ends with it ("…; asked by olivia, approved by bob, request 12").
_reason_note: ContextVar = ContextVar("reason_note", default="")
REASON_LENGTH = 255  # of an audit entry's reason (and a ledger movement's)


@contextmanager
def reasons_noted(note: str):
    """Every history reason, change set title and ledger reason written inside ends with ``note``."""
    token = _reason_note.set(note)
    try:
        yield
    finally:
        _reason_note.reset(token)


def noted(reason: str, *, length: int = REASON_LENGTH) -> str:
    """``reason`` with the note of ``reasons_noted`` (if any) at its end, the whole within ``length``
    characters: the reason is shortened, never the note."""
    note = _reason_note.get()
    if not note:
        return reason
    return reason[: max(0, length - len(note))] + note


@contextmanager
def recording_change_set(change_set):
    token = current_change_set.set(change_set)
    try:
        yield change_set
    finally:
        current_change_set.reset(token)


@contextmanager
def change_set_recording(*, kind: str, title: str, user=None, undoes=None):
    """Record a multi-row operation as one change set. Use inside the operation's transaction.

    Nested use (a bulk action calling a service that would open its own) joins the outer set.
    """
    outer = current_change_set.get()
    if outer is not None:
        yield outer
        return
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    change_set = ChangeSet.objects.create(kind=kind, title=noted(title)[:255], user=user, undoes=undoes)
    with recording_change_set(change_set):
        yield change_set
    change_set.row_count = change_set.entries.values("content_type_id", "object_id").distinct().count()
    change_set.save(update_fields=["row_count"])


def save_with_reason(record, *, reason: str, user=None, update_fields=None) -> None:
    """Save one record; its history row (and audit-log entry) carries ``reason`` and ``user``."""
    _explain(record, reason=reason, user=user)
    record.save(update_fields=update_fields)


def delete_with_reason(record, *, reason: str, user=None) -> None:
    """Delete one record (and what cascades from it), each history row carrying ``reason``."""
    _explain(record, reason=reason, user=user)
    record.delete()


def _explain(record, *, reason: str, user) -> None:
    record._change_reason = noted(reason)
    if user is not None:
        record._history_user = user


def history_bulk_record(objs, *, reason: str, user=None, changed_fields=None, diffs=None, history_type="~"):
    """History rows (and audit-log entries) for objects changed by ``QuerySet.update()``/bulk writes.

    ``changed_fields`` names what changed on every object; ``diffs`` gives it per object instead.
    """
    objs = list(objs)
    if not objs:
        return []
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if batch_open():
        change_set = current_change_set.get()
        batch_hold_history(
            type(objs[0]),
            objs,
            reason=noted(reason),
            user_id=user.pk if user is not None else None,
            history_type=history_type,
            change_set_id=change_set.pk if change_set else None,
            fields=[(diffs[index] if diffs is not None else changed_fields) for index in range(len(objs))],
        )
        return
    _record_history_values(
        get_history_manager_for_model(objs[0]).model,
        objs,
        reason=reason,
        user=user,
        history_type=history_type,
        changed_fields=changed_fields,
        diffs=diffs,
    )


# History and audit rows are written from their values, without model instances: building
# instances for bulk_create cost more than the database's work, for thousands of rows. Inside a
# ``history_batch`` they are copied from the rows instead (``audit.batch``).


class _HistoryRows(NamedTuple):
    """One model's history rows and audit entries, written once their history ids are taken."""

    history: type  # the historical model
    columns: list[str]  # of ``rows``; the history id comes last
    rows: list[tuple]
    entries: list[tuple]  # ENTRY_COLUMNS up to the history id and change set
    change_set_id: int | None


def _record_history_values(history, objs, *, reason, user, history_type, changed_fields=None, diffs=None):
    """The history rows and audit entries of ``history_bulk_record``, from the objects' values."""
    tracked = [f.attname for f in history.tracked_fields]
    reason = noted(reason)
    now = timezone.now()
    user_id = user.pk if user is not None else None
    change_set = current_change_set.get()
    content_type = ContentType.objects.get_for_model(type(objs[0])).pk
    action = HISTORY_TYPE_ACTION[history_type]
    group = _HistoryRows(
        history=history,
        columns=[*tracked, "history_date", "history_change_reason", "history_type", "history_user_id"],
        rows=[
            (*(_stored(getattr(obj, name)) for name in tracked), now, reason, history_type, user_id)
            for obj in objs
        ],
        entries=[
            (
                now,
                user_id,
                content_type,
                str(obj.pk),
                str(obj)[:200],
                action,
                reason[:255],
                list((diffs[index] if diffs is not None else changed_fields) or []),
            )
            for index, obj in enumerate(objs)
        ],
        change_set_id=change_set.pk if change_set else None,
    )
    _write_history([group])


def _stored(value):
    """A field's value as its column holds it: a file field holds its file's name."""
    return value.name if isinstance(value, FieldFile) else value


def _write_history(groups: list[_HistoryRows]) -> None:
    """Take history ids for every group from their sequences (one query), then write the history
    rows and audit entries (one round trip for a few rows, COPY for many)."""
    ids = next_ids([(group.history, len(group.rows), "history_id") for group in groups])
    history_tables, entries = [], []
    for group, history_ids in zip(groups, ids, strict=True):
        numbered = zip(group.rows, history_ids, strict=True)
        history_tables.append((group.history, [*group.columns, "history_id"], [(*r, i) for r, i in numbered]))
        entries += [
            (*entry, i, group.change_set_id) for entry, i in zip(group.entries, history_ids, strict=True)
        ]
    write_rows([*history_tables, (AuditEntry, ENTRY_COLUMNS, entries)])


def entries_for_history_rows(rows, *, changed_fields=None, diffs=None, objects=None):
    """Write the audit-log entries of freshly created history rows (one INSERT for all).

    ``objects`` are the recorded objects themselves, for their names (building them back from the
    history rows would cost a query per row for models with excluded fields).
    """
    if not rows:
        return []
    model = rows[0].instance_type
    content_type = ContentType.objects.get_for_model(model)
    change_set = current_change_set.get()
    entries = []
    for index, row in enumerate(rows):
        fields = diffs[index] if diffs is not None else changed_fields
        entries.append(
            AuditEntry(
                created_at=row.history_date,
                user_id=row.history_user_id,
                content_type=content_type,
                object_id=str(getattr(row, model._meta.pk.attname)),
                object_repr=str(objects[index] if objects is not None else row.instance)[:200],
                action=HISTORY_TYPE_ACTION[row.history_type],
                reason=(row.history_change_reason or "")[:255],
                changed_fields=list(fields or []),
                history_id=row.history_id,
                change_set=change_set,
            )
        )
    return AuditEntry.objects.bulk_create(entries)


def delete_with_history(objs, *, reason: str, user=None) -> None:
    """Delete objects in bulk, each with its "-" history row and audit entry carrying ``reason``.

    ``QuerySet.delete()`` would send a signal per row (and simple-history would write each history
    row alone, without the reason); this writes them in one batch and deletes with one statement.
    Cascades are the caller's business: delete dependent rows first.
    """
    objs = list(objs)
    if not objs:
        return
    model = type(objs[0])
    history_bulk_record(objs, reason=reason, user=user, history_type="-")
    queryset = model.objects.filter(pk__in=[obj.pk for obj in objs])
    queryset._raw_delete(queryset.db)
