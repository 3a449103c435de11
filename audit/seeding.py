"""Bulk-loaded rows (demo data, benchmarks) with their first history row and audit entry.

Rows loaded with COPY have no history; without a first version, nothing about them could be
reverted, compared "as of", or undone. This writes the three together, in batches: the rows by COPY,
their history rows and audit entries made from them on the server (INSERT … SELECT), so no value
goes through Python three times.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Max
from simple_history.utils import get_history_model_for_model

from core.bulk import copy_binary, reset_sequence

from .models import AuditEntry
from .recording import ENTRY_COLUMNS


def copy_with_history(
    model,
    columns: list[str],
    rows: list[tuple],
    *,
    reason: str,
    describe: str,
    when: str,
    user=None,
    first_history_id: int | None = None,
) -> int:
    """COPY ``rows`` into ``model``'s table, plus a "+" history row and an audit entry for each.

    ``describe``: an SQL expression of the table's columns naming an object for the audit log
    (``"name || ' (' || sku || ')'"``); ``when``: the column of its creation time; ``user`` wrote
    them (the demo data's own account, for instance). ``first_history_id``: where their history ids
    start, in the order of ``rows``, for loaders writing at once (else after the highest).
    """
    copy_binary(model, columns, rows)
    history = get_history_model_for_model(model)
    tracked = [f.attname for f in history.tracked_fields]
    missing = [name for name in tracked if name not in columns and name != "tenant_id"]
    if missing:
        raise ValueError(f"copy_with_history needs every tracked column; missing {missing}")
    start = (
        first_history_id
        if first_history_id is not None
        else (history.objects.aggregate(top=Max("history_id"))["top"] or 0) + 1
    )
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    pk_type = model._meta.pk.db_type(connection)
    # The rows just copied, in their order (n), each with its history id.
    loaded = (
        f"FROM unnest(%(ids)s::{pk_type}[]) WITH ORDINALITY AS loaded(id, n) "
        f"JOIN {table} AS r ON r.{pk} = loaded.id ORDER BY loaded.n"
    )
    history_id = "%(start)s + loaded.n - 1"
    params = {
        "ids": [row[columns.index(model._meta.pk.attname)] for row in rows],
        "start": start,
        "reason": reason,
        "user": user.pk if user is not None else None,
        "type": ContentType.objects.get_for_model(model).pk,
    }
    history_columns = [*tracked, "history_id", "history_date", "history_change_reason", "history_type"]
    entry_values = {
        "created_at": f"r.{quote(when)}",
        "user_id": "%(user)s::int",
        "content_type_id": "%(type)s",
        "object_id": f"r.{pk}::text",
        "object_repr": f"left({describe}, 200)",
        "action": "'created'",
        "reason": "%(reason)s",
        "changed_fields": "'[]'::jsonb",
        "history_id": history_id,
        "change_set_id": "NULL::bigint",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} "
            f"({', '.join(quote(c) for c in [*history_columns, 'history_user_id'])}) "
            f"SELECT {', '.join(f'r.{quote(c)}' for c in tracked)}, {history_id}, r.{quote(when)}, "
            f"%(reason)s, '+', %(user)s::int {loaded}",
            params,
        )
        cursor.execute(
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} "
            f"({', '.join(quote(c) for c in [*ENTRY_COLUMNS, 'tenant_id'])}) "
            f"SELECT {', '.join(entry_values[c] for c in ENTRY_COLUMNS)}, r.tenant_id {loaded}",
            params,
        )
    reset_sequence(history, column="history_id")
    return len(rows)
