"""A batch of writes with their history, sent in one round trip at its end (placing an order).

Inside ``history_batch``, rows (``rows_write_with_history``), statements (``statement_with_history``)
and the history that ``recording.history_bulk_record`` records are held; at the end, one execute
writes the rows and runs the statements, then copies each recorded object's row into its history
table and writes its audit entry in the same statement (``INSERT ... SELECT`` from the table, the
entry joined to the history id it got), as ``bench/place_orders``' SQL floor does. Built from values,
an order's history and audit rows were two thirds of the parameters the database driver quoted one
by one, and their ids a query of their own.
"""

import json
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import NamedTuple

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from core.bulk import insert_statements, write_rows
from core.prepared import prepared_pipeline
from core.tenancy import current_tenant_id

from .models import AuditEntry

HISTORY_TYPE_ACTION = {
    "+": AuditEntry.Action.CREATED,
    "~": AuditEntry.Action.CHANGED,
    "-": AuditEntry.Action.DELETED,
}
ENTRY_COLUMNS = [
    "created_at",
    "user_id",
    "content_type_id",
    "object_id",
    "object_repr",
    "action",
    "reason",
    "changed_fields",
    "history_id",
    "change_set_id",
]

_pending_history: ContextVar = ContextVar("pending_history", default=None)


@contextmanager
def history_batch():
    """Hold the rows, statements and history recorded inside, and write them all at the end, in one
    round trip: first the rows and statements (in the order given), then the history.

    For a service that records several models in one transaction (placing an order: the order, its
    lines, the products' stock and its ledger movements, the charge). Inside, ``history_bulk_record``
    copies each history row from its object's row as the table holds it at the end (with the
    batch's own writes), which is what the object says once they are written; and the audit entry
    goes in the same statement, with the history id the row got. Nested use joins the outer batch;
    nothing is written when the block raises.
    """
    if _pending_history.get() is not None:
        yield
        return
    pending = _Pending(statements=[], copies=[])
    token = _pending_history.set(pending)
    try:
        yield
    finally:
        _pending_history.reset(token)
    _write_batch(pending)


class _Pending(NamedTuple):
    statements: list  # (sql, params)
    copies: list  # _CopiedHistory


def rows_write_with_history(model, columns: list[str], rows: list[tuple]) -> None:
    """Rows that belong with the history being recorded (ledger movements): held by an open
    ``history_batch`` and written in its round trip, else written now (``bulk.write_rows``)."""
    pending = _pending_history.get()
    if pending is not None:
        if rows:
            pending.statements.append(insert_statements([(model, columns, rows)]))
    else:
        write_rows([(model, columns, rows)])


def statement_with_history(sql: str, params: list) -> None:
    """A statement writing rows whose history is being recorded (an order's UPDATE): held by an open
    ``history_batch`` and run in its round trip, before the history copied from those rows; else
    run now."""
    pending = _pending_history.get()
    if pending is not None:
        pending.statements.append((sql, list(params)))
        return
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


class _CopiedHistory(NamedTuple):
    """History rows to copy from ``model``'s rows at the end of a batch, with their audit entries."""

    model: type
    pks: list  # distinct
    reprs: list[str]  # in the order of pks
    fields: str | list[str]  # the entries' changed fields as JSON text: one for all, or one each
    at: object  # the history date and the entries' time
    reason: str
    history_type: str
    user_id: int | None
    change_set_id: int | None


def batch_open() -> bool:
    return _pending_history.get() is not None


def batch_hold_history(model, objs, *, reason, user_id, history_type, change_set_id, fields) -> None:
    """The history of ``objs`` (``fields``: each one's changed fields), copied from their rows when
    the open batch ends (``reason`` already noted)."""
    seen, pks, reprs, changed, texts = set(), [], [], [], {}
    for obj, names in zip(objs, fields, strict=True):
        if obj.pk in seen:  # one history row per row and batch: the table has the last word on it
            continue
        seen.add(obj.pk)
        pks.append(obj.pk)
        reprs.append(str(obj)[:200])
        key = tuple(names or ())
        if key not in texts:  # most often the same fields for every object
            texts[key] = json.dumps(list(key))
        changed.append(texts[key])
    _pending_history.get().copies.append(
        _CopiedHistory(
            model=model,
            pks=pks,
            reprs=reprs,
            fields=changed[0] if len(texts) == 1 else changed,
            at=timezone.now(),
            reason=reason,
            history_type=history_type,
            user_id=user_id,
            change_set_id=change_set_id,
        )
    )


@cache
def _copy_sql(model, fields_each: bool) -> str:
    """One statement copying ``model``'s rows (whose ids are given) into its history table and writing
    their audit entries, each with its row's history id (as ``bench/place_orders``' floor does).
    ``fields_each``: the entries' changed fields given one per row, else one for all."""
    history = get_history_manager_for_model(model).model
    columns = ", ".join(connection.ops.quote_name(f.column) for f in history.tracked_fields)
    pk = connection.ops.quote_name(model._meta.pk.column)
    pks = f"%(pks)s::{model._meta.pk.cast_db_type(connection)}[]"
    entry_columns = ", ".join(["tenant_id", *ENTRY_COLUMNS])
    # Named parameters, each sent once however often it is used, and typed: the statement is
    # prepared, and a NULL user or change set has no type of its own.
    each, fields = (", %(fields)s::text[]", "e.changed_fields") if fields_each else ("", "%(fields)s::text")
    return (
        f"WITH h AS (INSERT INTO {history._meta.db_table} ({columns}, history_date, "  # noqa: S608 - the models' names
        "history_change_reason, history_type, history_user_id) "
        "SELECT "
        f"{columns}, %(at)s::timestamptz, %(reason)s::text, %(type)s::text, %(user)s::bigint "
        f"FROM {model._meta.db_table} WHERE {pk} = ANY({pks}) RETURNING history_id, {pk} AS pk) "
        f"INSERT INTO {AuditEntry._meta.db_table} ({entry_columns}) "
        "SELECT %(tenant)s::bigint, %(at)s::timestamptz, %(user)s::bigint, %(content_type)s::int, "
        f"e.pk::text, e.object_repr, %(action)s::text, left(%(reason)s::text, 255), {fields}::jsonb, "
        f"h.history_id, %(change_set)s::bigint FROM h JOIN unnest({pks}, %(reprs)s::text[]{each}) "
        f"AS e(pk, object_repr{', changed_fields' if fields_each else ''}) USING (pk)"
    )


def _copy_params(copy: _CopiedHistory, tenant_id) -> dict:
    return {
        "at": copy.at,
        "reason": copy.reason,
        "type": copy.history_type,
        "user": copy.user_id,
        "pks": copy.pks,
        "tenant": tenant_id,
        "content_type": ContentType.objects.get_for_model(copy.model).pk,
        "action": str(HISTORY_TYPE_ACTION[copy.history_type]),
        "fields": copy.fields,
        "change_set": copy.change_set_id,
        "reprs": copy.reprs,
    }


def _write_batch(pending: _Pending) -> None:
    """The batch's statements, then its history copies, sent in one round trip (a pipeline); a copy
    that found fewer rows than it was given (a row not written) fails the transaction rather than
    lose their history."""
    if not pending.statements and not pending.copies:
        return
    tenant_id = current_tenant_id() if pending.copies else None
    copies = [
        (_copy_sql(copy.model, isinstance(copy.fields, list)), _copy_params(copy, tenant_id))
        for copy in pending.copies
    ]
    # Prepared: the statements are the same for every order of a size.
    cursors = prepared_pipeline([*pending.statements, *copies])
    for copy, cursor in zip(pending.copies, cursors[len(pending.statements) :], strict=True):
        if cursor.rowcount != len(copy.pks):
            raise RuntimeError(
                f"{len(copy.pks)} {copy.model._meta.verbose_name_plural} to record, {cursor.rowcount} "
                "found: their history can't be copied from rows that aren't there."
            )
