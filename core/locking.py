"""Row locks, always taken in primary-key order.

Every writer that locks several rows of a table goes through ``locked_in_pk_order``, so two
transactions lock the same rows in the same order and can't deadlock each other.
"""

import uuid
from functools import lru_cache
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.transaction import TransactionManagementError

from .prepared import prepared_cursor
from .tenancy import current_tenant_id, is_tenant_scoped


def locked_in_pk_order(queryset, pks):
    """``queryset``'s rows with these primary keys, row-locked (``SELECT … FOR UPDATE``) in
    primary-key order; the lock is held until the transaction ends."""
    return queryset.select_for_update().filter(pk__in=list(pks)).order_by("pk")


def locked_fields_in_pk_order(model, pks, fields: tuple[str, ...]) -> list:
    """``locked_in_pk_order`` on the model's default manager (the active tenant's rows for a
    tenant-scoped model) with only ``fields`` read (the others deferred), for a hot path: the ORM
    compiles that query once per model, fields, number of rows and tenant, and the statement is
    prepared; each call only puts its ids in (building the query was a third of placing an order's
    own time)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    pk = model._meta.pk
    pks = list(dict.fromkeys(pk.get_db_prep_value(value, connection) for value in pks))
    if not pks:  # the ORM compiles no statement for ``pk__in=[]`` (EmptyResultSet)
        return []
    tenant_id = current_tenant_id() if is_tenant_scoped(model) else None
    statement = _lock_statement(model, tuple(fields), len(pks), tenant_id)
    params = list(statement.params)
    for position, value in zip(statement.pk_positions, pks, strict=True):
        params[position] = value
    with prepared_cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchall()
    if statement.converters:
        rows = [_converted(row, statement.converters, connection) for row in rows]
    return [model.from_db(connection.alias, statement.attnames, row) for row in rows]


def _converted(row, converters, connection) -> list:
    """The row's values as the ORM's converters give them (what ``SQLCompiler.apply_converters``
    does, with this thread's connection)."""
    values = list(row)
    for position, (functions, expression) in converters:
        for convert in functions:
            values[position] = convert(values[position], expression, connection)
    return values


class _LockStatement(NamedTuple):
    sql: str
    params: tuple  # as compiled; the ids go at pk_positions
    pk_positions: list[int]
    converters: list  # (position, (converters, expression)) as the ORM's compiler gives them
    attnames: list[str]


@lru_cache(maxsize=256)
def _lock_statement(model, fields: tuple[str, ...], count: int, tenant_id) -> _LockStatement:
    """The ORM's SQL of ``locked_in_pk_order(...).only(*fields)`` for ``count`` ids, compiled with
    stand-in ids (found again in its parameters; the tenant's id is part of the key, so the other
    parameters hold for every call of the key)."""
    stand_ins = _stand_in_ids(model, count)
    queryset = locked_in_pk_order(model._default_manager.all(), stand_ins).only(*fields)
    compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
    sql, params = compiler.as_sql()
    positions = {value: index for index, value in enumerate(params)}
    selected = [column for column, *_ in compiler.select[: compiler.col_count]]
    return _LockStatement(
        sql=sql,
        params=tuple(params),
        pk_positions=[positions[value] for value in stand_ins],
        converters=list(compiler.get_converters(selected).items()),
        attnames=[column.target.attname for column in selected],
    )


def _stand_in_ids(model, count: int) -> list:
    """``count`` ids no row has and no other parameter of the query can equal."""
    if model._meta.pk.get_internal_type() == "UUIDField":
        return [uuid.UUID(int=index + 1) for index in range(count)]
    return [-(index + 1) for index in range(count)]
