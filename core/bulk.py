"""Fast inserts of many rows: PostgreSQL's COPY, or one multi-row INSERT for a few.

Used by demo data, history and audit rows, the stock ledger's big batches and imports, where many
rows are written at once. Rows are tuples of values in the order of ``columns`` (field attnames,
e.g. ``category_id``).
"""

import json
import multiprocessing
import signal
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from functools import lru_cache

from django.db import IntegrityError, connection, connections, transaction
from psycopg.types.json import Jsonb

from .prepared import prepared_cursor
from .session import session_settings, set_session
from .summaries import PAUSE_SETTING
from .tenancy import current_tenant


def copy_rows(model, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY ``rows`` into ``model``'s table (streamed: ``rows`` may be a generator)."""
    columns, rows = _in_current_tenant(model, columns, rows)
    json_at = _json_positions(model, columns)
    if json_at:
        rows = ([_adapt(v) if i in json_at else v for i, v in enumerate(row)] for row in rows)
    return _copy(model._meta.db_table, columns, rows)


def copy_binary(model, columns: list[str], rows: Iterable[tuple], *, into: str = "") -> list[str]:
    """``copy_rows`` in PostgreSQL's binary format, for big loads (demo data): psycopg formats a row
    about five times faster, and the server parses it faster too. Values must be of their column's
    type exactly (``Decimal`` for numeric, aware datetimes, dicts and lists for JSON columns).
    ``into``: another table with the same columns (a staging table). Gives the columns written
    (with the shop's when ``model`` is tenant-scoped)."""
    columns, rows = _in_current_tenant(model, columns, rows)
    copy_binary_into(into or model._meta.db_table, columns, rows)
    return columns


def copy_binary_into(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY ``rows`` into ``table`` (a table name) in binary; see ``copy_binary``."""
    types = _column_types(table)
    return _copy(table, columns, rows, types=[types[column] for column in columns])


def _copy(table: str, columns: list[str], rows: Iterable, *, types: list[int] | None = None) -> int:
    """COPY ``rows`` into ``table``: as text, or in binary given the columns' ``types`` (oids)."""
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    binary = " (FORMAT BINARY)" if types else ""
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY {table} ({cols}) FROM STDIN{binary}") as copy,
    ):
        if types:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _column_types(table: str) -> dict[str, int]:
    """The type (oid) of each of ``table``'s columns, as binary COPY must name them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [table],
        )
        return dict(cursor.fetchall())


# Below this many rows in all, ``write_rows`` sends one multi-row INSERT per table in a single round
# trip; COPY costs two round trips per table, which is most of the time for an order's dozen rows.
FEW_ROWS = 200


def write_rows(tables: list[tuple]) -> None:
    """Write rows into several tables at once: ``tables`` is a list of ``(model, columns, rows)``,
    rows being a list of tuples in the order of ``columns``.

    Few rows in all go as one execute of several INSERTs, many go by COPY.
    """
    tables = [table for table in tables if table[2]]
    if not tables:
        return
    if sum(len(rows) for *_, rows in tables) > FEW_ROWS:
        for model, columns, rows in tables:
            copy_rows(model, columns, rows)
        return
    with connection.cursor() as cursor:
        cursor.execute(*insert_statements(tables))


def insert_statements(tables: list[tuple]) -> tuple[str, list]:
    """One multi-row INSERT per ``(model, columns, rows)`` of ``tables`` (none empty), as one text and
    its parameters: for a caller that sends them with statements of its own in one round trip."""
    statements, params = [], []
    for model, columns, rows in tables:
        statement, values = _insert_statement(model, columns, rows)
        statements.append(statement)
        params += values
    return ";\n".join(statements), params


def _insert_statement(model, columns: list[str], rows: list[tuple]) -> tuple[str, list]:
    columns, rows = _in_current_tenant(model, columns, rows)
    rows = list(rows)
    statement, json_at = _insert_text(model, tuple(columns), len(rows))
    params = []
    for row in rows:
        if json_at:
            row = [Jsonb(v) if i in json_at and v is not None else v for i, v in enumerate(row)]
        params += row
    return statement, params


@lru_cache(maxsize=1024)
def _insert_text(model, columns: tuple[str, ...], count: int) -> tuple[str, set[int]]:
    """The INSERT of ``count`` rows and where its JSON columns are, built once per shape (an order's
    rows come in a few shapes, thousands of times)."""
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * count)
    return f"INSERT INTO {model._meta.db_table} ({cols}) VALUES {values}", _json_positions(model, columns)  # noqa: S608


def next_ids(counts: list[tuple]) -> list[list[int]]:
    """Ids for new rows, taken before their INSERT, for several tables in one query: ``counts`` is a
    list of ``(model, count)`` or ``(model, count, column)``; gives a list of ids per entry.

    They come from each table's identity sequence, so no other transaction can take them.
    """
    ids: list[list[int]] = [[] for _ in counts]
    # The sequence looked up once per table, not per id; prepared: an order takes its ids this way.
    select = (
        "(SELECT %s::int, nextval(q.seq) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) q, "
        "generate_series(1, %s::int))"
    )
    params = []
    for index, (model, count, *column) in enumerate(counts):
        params += [index, model._meta.db_table, column[0] if column else "id", count]
    with prepared_cursor() as cursor:
        cursor.execute(" UNION ALL ".join([select] * len(counts)), params)
        for index, new_id in cursor.fetchall():
            ids[index].append(new_id)
    return [sorted(batch) for batch in ids]


def instance_rows(objs: list) -> tuple[list[str], list[tuple]]:
    """Columns and values of new model instances as a save would write them (dates with ``auto_now``
    set, foreign keys as ids), for ``write_rows``; the instances then count as saved."""
    fields = objs[0]._meta.concrete_fields
    rows = [tuple(field.pre_save(obj, True) for field in fields) for obj in objs]
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias
    return [field.attname for field in fields], rows


def _in_current_tenant(model, columns: list[str], rows: Iterable[tuple]):
    """Rows of tenant-scoped tables go to the active tenant, as saves do."""
    if "tenant_id" in columns or not any(f.attname == "tenant_id" for f in model._meta.concrete_fields):
        return columns, rows
    tenant_id = current_tenant().pk
    return [*columns, "tenant_id"], ((*row, tenant_id) for row in rows)  # lazy: imports stream rows


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
    table = model._meta.db_table
    with connection.cursor() as cursor:
        highest = f"COALESCE((SELECT MAX({column}) FROM {table}), 1)"  # noqa: S608
        cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), {highest})", [table, column])


def forget_logged_queries():
    """With DEBUG on (``manage.py``, the demo) Django keeps the text of the last 9,000 queries; a
    batch's queries carry thousands of values, so a long import would hold hundreds of MB of them.
    Left alone while something captures queries (tests counting them)."""
    if connection.queries_logged and not connection.force_debug_cursor:
        connection.queries_log.clear()


@contextmanager
def secondary_indexes_deferred(models, *, builders: int = 1, analyze: bool = False):
    """Load rows into ``models``' tables without upkeep of their plain indexes: they are dropped for
    the block and built again after it (each in one pass over the table), also when the block fails.
    ``builders`` connections build them at once (outside a transaction), the biggest tables' first;
    ``analyze``: then each table's statistics are gathered the same way (``ANALYZE``).

    Index upkeep was most of a big seed's time (products with 16 indexes: 11 s per 100,000 rows
    against 4.5 s loaded bare and indexed after; audit entries 7.2 s against 0.13 s). Primary keys,
    unique indexes and constraints stay: they still check every row. Run it outside a transaction,
    with nothing else using the tables: it is for loading, not for a shop at work.
    """
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT index_class.relname, table_class.relname, pg_get_indexdef(ix.indexrelid)
            FROM pg_index ix
            JOIN pg_class index_class ON index_class.oid = ix.indexrelid
            JOIN pg_class table_class ON table_class.oid = ix.indrelid
            JOIN pg_namespace ns ON ns.oid = table_class.relnamespace
            WHERE ns.nspname = current_schema() AND table_class.relname = ANY(%s)
              AND NOT ix.indisunique AND NOT ix.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)
            ORDER BY 1
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield [name for name, _, _ in indexes]
    finally:
        if connection.in_atomic_block:
            with connection.cursor() as cursor:
                # PostgreSQL builds no index on a table with deferred checks pending: run them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        sizes = _table_sizes(tables)
        # Longest first, so that the connections finish about together.
        statements = [definition for _, table, definition in sorted(indexes, key=lambda i: -sizes[i[1]])]
        if analyze:
            statements += [f"ANALYZE {connection.ops.quote_name(table)}" for table in tables]
        on_connections(statements, builders)


def _table_sizes(tables: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT t, pg_table_size(t::regclass) FROM unnest(%s::text[]) AS t", [tables])
        return dict(cursor.fetchall())


def on_connections(statements: list[str], count: int) -> None:
    """Run ``statements`` in turn on up to ``count`` connections at once (this one and threads' own,
    under this session's settings), each taking the next statement when it is done: the server's
    work, such as index builds, on several cores. Inside a transaction, one after the other here
    (another connection would wait for its locks). The first failure is raised once all are done."""
    if connection.in_atomic_block or count < 2 or len(statements) < 2:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        return
    session = _session_settings()
    pending, taking, failures = iter(statements), threading.Lock(), []

    def run(*, own_connection: bool):
        try:
            if own_connection:
                set_session(session)
            while True:
                with taking:
                    statement = next(pending, None)
                if statement is None:
                    return
                with connection.cursor() as cursor:
                    cursor.execute(statement)
        except Exception as error:  # the other connections go on; raised after them
            failures.append(error)
        finally:
            if own_connection:
                connection.close()

    threads = [threading.Thread(target=run, kwargs={"own_connection": True}) for _ in range(count - 1)]
    for thread in threads:
        thread.start()
    run(own_connection=False)
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


@contextmanager
def foreign_keys_deferred(models):
    """Load rows into ``models``' tables without checking their foreign keys row by row: the keys
    are dropped for the block and added again after it, also when the block fails. Adding a key
    checks every row in one join, which fails (and says which key) if a row points nowhere.

    A checked key costs a trigger and a look-up per row and column, queued until the commit: most
    of the server's time in a big seed. Same rules as ``secondary_indexes_deferred``.
    """
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # no ALTER TABLE on a table with checks pending: run them now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            """
            SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_namespace ns ON ns.oid = t.relnamespace
            WHERE ns.nspname = current_schema() AND t.relname = ANY(%s) AND c.contype = 'f'
            ORDER BY 1, 2
            """,
            [tables],
        )
        keys = cursor.fetchall()
        quote = connection.ops.quote_name
        for table, name, _ in keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    try:
        yield [name for _, name, _ in keys]
    finally:
        refused = []
        for table, name, definition in keys:  # every key back that can be, then the ones that can't
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
            except IntegrityError as error:
                refused.append(f"{table}.{name}: {error}")
        if refused:
            raise IntegrityError("Rows loaded point nowhere; keys not added back: " + "; ".join(refused))


# A big load's session: commits that don't wait for the disk (a crash loses the last commits, never
# consistency: the load is started again), and memory to build each index in one sort.
LOAD_SETTINGS = {"synchronous_commit": "off", "maintenance_work_mem": "512MB"}


def load_settings():
    """This session tuned for loading (``LOAD_SETTINGS``) for the block, as it was after it."""
    return session_settings(LOAD_SETTINGS)


def _session_settings() -> dict[str, str]:
    """What this session set for itself (``load_settings``, the summaries' pause...): the processes
    of ``in_processes`` work under the same."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE source = 'session' "
            "UNION ALL SELECT %s, current_setting(%s, true) WHERE current_setting(%s, true) <> ''",
            [PAUSE_SETTING] * 3,
        )
        return dict(cursor.fetchall())


LOAD_PROCESSES = 2  # the machine's cores: the server works in between, on the COPYs


def in_processes(function, jobs: list, *, shared=None):
    """``function(job, shared)`` for each job, its results in order, run by forked processes with a
    connection each (committing their own work) — or one after the other here inside a transaction,
    whose rows other connections can't see. ``function`` must be a module's function; ``shared``
    reaches the processes as they fork (not copied per job). Each job must give the same result
    either way (the demo data's chunks draw from a random generator of their own)."""
    if connection.in_atomic_block or len(jobs) < 2:
        yield from (function(job, shared) for job in jobs)
        return
    session = _session_settings()
    connections.close_all()  # a forked process must not share this process's socket
    context = multiprocessing.get_context("fork")
    workers = min(LOAD_PROCESSES, len(jobs))
    with context.Pool(workers, initializer=_start_worker, initargs=(function, shared, session)) as pool:
        set_session(session)  # on this process's new connection, before the caller writes with it
        yield from pool.imap(_job_on_own_connection, jobs)


_worker: dict = {}


def _start_worker(function, shared, session):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool stops its processes with SIGTERM
    _worker.update(function=function, shared=shared, session=session)


def _job_on_own_connection(job):
    try:
        set_session(_worker["session"])
        return _worker["function"](job, _worker["shared"])
    finally:
        connection.close()
