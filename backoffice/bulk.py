"""Fast inserts of many rows: PostgreSQL's COPY, or batched INSERTs elsewhere.

Used by demo data, history and audit rows, the stock ledger's big batches and imports, where many
rows are written at once. Rows are tuples of values in the order of ``columns`` (field attnames,
e.g. ``category_id``).
"""

import json
from collections.abc import Iterable
from itertools import batched

from django.db import connection


def copy_rows(model, columns: list[str], rows: Iterable[tuple], *, batch_size: int = 5000) -> int:
    table = model._meta.db_table
    count = 0
    if "tenant_id" not in columns and any(f.attname == "tenant_id" for f in model._meta.concrete_fields):
        # Rows of tenant-scoped tables go to the active tenant, as saves do.
        from backoffice.tenancy import current_tenant

        tenant_id = current_tenant().pk
        columns = [*columns, "tenant_id"]
        rows = ((*row, tenant_id) for row in rows)
    if connection.vendor == "postgresql":
        cols = ", ".join(connection.ops.quote_name(c) for c in columns)
        json_at = _json_positions(model, columns)
        with (
            connection.cursor() as cursor,
            cursor.connection.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy,
        ):
            for row in rows:
                if json_at:
                    row = [_adapt(v) if i in json_at else v for i, v in enumerate(row)]
                copy.write_row(row)
                count += 1
        return count
    for chunk in batched(rows, batch_size, strict=False):
        model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in chunk])
        count += len(chunk)
    return count


def _json_positions(model, columns: list[str]) -> set[int]:
    """Where the JSON columns are (their values go as JSON text); the others go as they are."""
    json_columns = {
        field.column for field in model._meta.concrete_fields if field.get_internal_type() == "JSONField"
    }
    return {index for index, column in enumerate(columns) if column in json_columns}


def _adapt(value):
    return json.dumps(value) if isinstance(value, dict | list) else value


def reset_sequence(model, column: str = "id") -> None:
    """After inserting explicit ids, make the column's sequence continue after the highest."""
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        highest = f"COALESCE((SELECT MAX({column}) FROM {table}), 1)"  # noqa: S608
        cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), {highest})", [table, column])
