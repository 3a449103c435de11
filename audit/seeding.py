"""Bulk-loaded rows (demo data, benchmarks) with their first history row and audit entry.

Rows loaded with COPY have no history; without a first version, nothing about them could be
reverted, compared "as of", or undone. This writes the three together, in batches.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max
from simple_history.utils import get_history_model_for_model

from core.bulk import copy_binary, reset_sequence
from core.tenancy import current_tenant

from .models import AuditEntry
from .recording import ENTRY_COLUMNS


def copy_with_history(
    model,
    columns: list[str],
    rows: list[tuple],
    *,
    reason: str,
    describe,
    when,
    user=None,
    first_history_id: int | None = None,
) -> int:
    """COPY ``rows`` into ``model``'s table, plus a "+" history row and an audit entry for each.

    ``describe(row)`` gives the object's name for the audit log; ``when(row)`` its creation time;
    ``user`` wrote them (the demo data's own account, for instance). ``first_history_id``: where
    their history ids start, for loaders writing at once (else after the highest).
    """
    user_id = user.pk if user is not None else None
    copy_binary(model, columns, rows)
    history = get_history_model_for_model(model)
    tracked = [f.attname for f in history.tracked_fields]
    index = {name: position for position, name in enumerate(columns)}
    missing = [name for name in tracked if name not in index and name != "tenant_id"]
    if missing:
        raise ValueError(f"copy_with_history needs every tracked column; missing {missing}")
    tenant_id = current_tenant().pk
    start = (
        first_history_id
        if first_history_id is not None
        else (history.objects.aggregate(top=Max("history_id"))["top"] or 0) + 1
    )
    history_rows, entries = [], []
    content_type = ContentType.objects.get_for_model(model).pk
    pk_name = model._meta.pk.attname
    for offset, row in enumerate(rows):
        history_id = start + offset
        created = when(row)
        history_rows.append(
            (
                *(row[index[name]] if name in index else tenant_id for name in tracked),
                history_id,
                created,
                reason,
                "+",
                user_id,
            )
        )
        entries.append(
            (
                created,
                user_id,
                content_type,
                str(row[index[pk_name]]),
                describe(row)[:200],
                "created",
                reason,
                [],
                history_id,
                None,
            )
        )
    copy_binary(
        history,
        [*tracked, "history_id", "history_date", "history_change_reason", "history_type", "history_user_id"],
        history_rows,
    )
    reset_sequence(history, column="history_id")
    copy_binary(AuditEntry, ENTRY_COLUMNS, entries)
    return len(rows)
