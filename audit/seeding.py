"""Bulk-loaded rows (demo data, benchmarks) with their first history row and audit entry.

Rows loaded with COPY have no history; without a first version, nothing about them could be
reverted, compared "as of", or undone. This writes the three together, in batches: the rows go by
COPY into a temporary table, and the table's rows, their history rows and audit entries are made
from it on the server (INSERT … SELECT), so no value goes through Python three times.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Max
from simple_history.utils import get_history_model_for_model

from core.bulk import copy_binary, reset_sequence

from .batch import ENTRY_COLUMNS
from .models import AuditEntry

STAGING = "pg_temp.loading_with_history"  # this session's own, dropped after each batch
ORDER = "loaded_n"  # its column of each row's place in ``rows``


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
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(
            f"CREATE TEMP TABLE {STAGING} AS SELECT *, 0::bigint AS {ORDER} FROM {table} WITH NO DATA"  # noqa: S608
        )
    written = copy_binary(model, [*columns, ORDER], ((*row, n) for n, row in enumerate(rows)), into=STAGING)
    loaded = [column for column in written if column != ORDER]
    params = {
        "start": start,
        "reason": reason,
        "user": user.pk if user is not None else None,
        "type": ContentType.objects.get_for_model(model).pk,
    }
    entry_values = {
        "created_at": quote(when),
        "user_id": "%(user)s::int",
        "content_type_id": "%(type)s",
        "object_id": f"{quote(model._meta.pk.column)}::text",
        "object_repr": f"left({describe}, 200)",
        "action": "'created'",
        "reason": "%(reason)s",
        "changed_fields": "'[]'::jsonb",
        "history_id": f"%(start)s + {ORDER}",
        "change_set_id": "NULL::bigint",
    }
    history_columns = [*tracked, "history_id", "history_date", "history_change_reason", "history_type"]
    statements = [
        (table, loaded, [quote(c) for c in loaded]),
        (
            quote(history._meta.db_table),
            [*history_columns, "history_user_id"],
            [*map(quote, tracked), f"%(start)s + {ORDER}", quote(when), "%(reason)s", "'+'", "%(user)s::int"],
        ),
        (
            quote(AuditEntry._meta.db_table),
            [*ENTRY_COLUMNS, "tenant_id"],
            [*(entry_values[c] for c in ENTRY_COLUMNS), "tenant_id"],
        ),
    ]
    with connection.cursor() as cursor:
        for target, target_columns, values in statements:
            cursor.execute(
                f"INSERT INTO {target} ({', '.join(quote(c) for c in target_columns)}) "  # noqa: S608
                f"SELECT {', '.join(values)} FROM {STAGING} ORDER BY {ORDER}",
                params,
            )
        cursor.execute(f"DROP TABLE {STAGING}")
    reset_sequence(history, column="history_id")
    return len(rows)
