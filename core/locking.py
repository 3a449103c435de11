"""Row locks, always taken in primary-key order.

Every writer that locks several rows of a table goes through ``locked_in_pk_order``, so two
transactions lock the same rows in the same order and can't deadlock each other.
"""

from functools import cache

from django.db import connection

from .prepared import prepared_cursor
from .tenancy import current_tenant_id


def locked_in_pk_order(queryset, pks):
    """``queryset``'s rows with these primary keys, row-locked (``SELECT … FOR UPDATE``) in
    primary-key order; the lock is held until the transaction ends."""
    return queryset.select_for_update().filter(pk__in=list(pks)).order_by("pk")


def locked_fields_in_pk_order(model, pks, fields: tuple[str, ...]) -> list:
    """The lock of ``locked_in_pk_order`` on the model's default rows (those of the active tenant
    for a tenant-scoped model), for a hot path: only ``fields`` are read (the others are deferred),
    and the statement is built once per model and fields instead of by the ORM at every call (a
    third of placing an order's own time went into building that query), and prepared."""
    sql, attnames, converters, tenant_scoped = _lock_statement(model, tuple(fields))
    params = [list(pks)]
    if tenant_scoped:
        params.append(current_tenant_id())
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    objs = []
    for row in rows:
        values = list(row)
        for index, field_converters in converters:
            for convert in field_converters:
                values[index] = convert(values[index], None, connection)
        objs.append(model.from_db(connection.alias, attnames, values))
    return objs


@cache
def _lock_statement(model, fields: tuple[str, ...]):
    meta = model._meta
    wanted = {meta.pk.attname, *(meta.get_field(name).attname for name in fields)}
    # In the order of the model's fields, as ``Model.from_db`` takes them.
    read = [field for field in meta.concrete_fields if field.attname in wanted]
    tenant_scoped = any(field.attname == "tenant_id" for field in meta.concrete_fields)
    quote = connection.ops.quote_name
    pk = quote(meta.pk.column)
    sql = (
        f"SELECT {', '.join(quote(field.column) for field in read)} FROM {quote(meta.db_table)} "  # noqa: S608 - the model's names
        f"WHERE {pk} = ANY(%s){' AND tenant_id = %s' if tenant_scoped else ''} ORDER BY {pk} FOR UPDATE"
    )
    converters = [
        (index, converters)
        for index, field in enumerate(read)
        if (converters := field.get_db_converters(connection) + connection.ops.get_db_converters(field))
    ]
    return sql, [field.attname for field in read], converters, tenant_scoped
