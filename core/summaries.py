"""Summary tables: aggregates kept exact by the database in the writer's own transaction, so a figure
over a million rows reads a few hundred.

Each summary table holds totals per key (e.g. orders per shop x hour x status). Triggers on the source
tables (created by the apps' migrations) add a *delta row* for every change in the same transaction as
the change: an insert only, never an update of a shared row, so writers never wait on each other or
deadlock over a popular key. Readers sum the rows of a key, deltas included, so a figure is exact the
moment the writer commits. ``summaries_fold`` (every minute, from Celery beat, and after a rebuild)
folds the deltas into one row per key so the tables stay small; a figure doesn't depend on it.

``summaries_rebuild`` recomputes every table from its source rows (after a bulk load that paused the
triggers, or a change of the site's time zone); ``summaries_check`` compares every key with its source
rows and lists the differences (``manage.py summaries --check``).

The days and hours of the summaries are the site's (``settings.TIME_ZONE``), which the triggers read
from the SQL function ``backoffice_summary_zone()``; a rebuild sets it. ``summaries_current()`` (run
when a worker warms up) says when they were built for another zone.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from .session import session_settings

logger = logging.getLogger(__name__)

# Triggers skip their work while this setting is "paused" (a bulk load that rebuilds afterwards).
PAUSE_SETTING = "backoffice.summaries"
FOLD_LOCK = 7_302_001  # pg_advisory_xact_lock key: one fold at a time (folds would add twice otherwise)


@dataclass(frozen=True)
class SummaryTable:
    """A summary table: its key and value columns, the source tables its triggers watch, and ``source``:
    a SELECT of the key and value columns (in that order) computed from the source rows, grouped by the
    key. SQL may call ``backoffice_summary_zone()`` for the site's time zone. ``before_rebuild``: SQL
    run before the table is rebuilt; ``roll(cursor)``: run before each fold (a window that moves)."""

    table: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    sources: tuple[str, ...]
    source: str
    before_rebuild: str = ""
    roll: Callable | None = None


_tables: dict[str, SummaryTable] = {}


def register(table: SummaryTable) -> None:
    _tables[table.table] = table


def summary_tables() -> list[SummaryTable]:
    return list(_tables.values())


def zone_function_sql(zone: str) -> str:
    quoted = zone.replace("'", "''")
    return (
        "CREATE OR REPLACE FUNCTION backoffice_summary_zone() RETURNS text "
        f"LANGUAGE sql STABLE AS $$ SELECT '{quoted}'::text $$"
    )


def summaries_zone() -> str:
    """The time zone of the summaries' days and hours (the migrations create it; a rebuild sets it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT backoffice_summary_zone()")
        return cursor.fetchone()[0]


def summaries_current() -> bool:
    """Whether the summaries' days are the site's; logs how to make them so when they aren't."""
    zone = summaries_zone()
    current = zone == settings.TIME_ZONE
    if not current:
        logger.warning(
            "The summary tables count days in %s, the site in %s: the dashboard's days are off until "
            "`manage.py summaries --rebuild`.",
            zone,
            settings.TIME_ZONE,
        )
    return current


@contextmanager
def summaries_paused():
    """Triggers add nothing in this connection meanwhile: for bulk loads, which call
    ``summaries_rebuild()`` when done (other connections keep theirs)."""
    with session_settings({PAUSE_SETTING: "paused"}):
        yield


def _sums(table: SummaryTable) -> str:
    return ", ".join(f"sum({v})" for v in table.values)


def _nonzero(table: SummaryTable, prefix: str = "", *, summed: bool = False) -> str:
    return " OR ".join(f"sum({prefix}{v}) <> 0" if summed else f"{prefix}{v} <> 0" for v in table.values)


def _source(table: SummaryTable) -> str:
    """The source rows' totals per key, under the table's column names, keys that total zero left out."""
    columns = ", ".join(table.keys + table.values)
    return f"SELECT * FROM ({table.source}) AS source({columns}) WHERE {_nonzero(table, 'source.')}"


def _fold(cursor, table: SummaryTable) -> None:
    keys, values = ", ".join(table.keys), ", ".join(table.values)
    updates = ", ".join(f"{v} = {table.table}.{v} + EXCLUDED.{v}" for v in table.values)
    cursor.execute(
        f"WITH moved AS (DELETE FROM {table.table} WHERE NOT folded RETURNING {keys}, {values}) "
        f"INSERT INTO {table.table} ({keys}, {values}, folded) "
        f"SELECT {keys}, {_sums(table)}, true FROM moved GROUP BY {keys} "
        f"ON CONFLICT ({keys}) WHERE folded DO UPDATE SET {updates} "
        f"RETURNING id, {_nonzero(table)}"
    )
    empty = [row[0] for row in cursor.fetchall() if not row[1]]
    if empty:  # keys whose changes cancelled out (an order placed, then moved to another status)
        cursor.execute(f"DELETE FROM {table.table} WHERE id = ANY(%s)", [empty])


def summaries_fold() -> None:
    """Fold each table's delta rows into one row per key (one fold at a time)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
        for table in summary_tables():
            if table.roll:
                table.roll(cursor)
            _fold(cursor, table)


def summaries_rebuild() -> None:
    """Recompute every summary table from its source rows, in the site's time zone. The source tables
    are locked against writes meanwhile (reads go on), so no change falls between the two."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK])
        sources = sorted({source for table in summary_tables() for source in table.sources})
        cursor.execute(f"LOCK TABLE {', '.join(sources)} IN SHARE MODE")
        cursor.execute(zone_function_sql(settings.TIME_ZONE))
        for table in summary_tables():
            keys, values = ", ".join(table.keys), ", ".join(table.values)
            if table.before_rebuild:
                cursor.execute(table.before_rebuild)
            cursor.execute(f"DELETE FROM {table.table}")
            cursor.execute(
                f"INSERT INTO {table.table} ({keys}, {values}, folded) "
                f"SELECT *, true FROM ({_source(table)}) AS source"
            )


def summaries_check() -> dict[str, int]:
    """Per table, how many keys differ from their source rows (0 everywhere: the summaries are exact)."""
    differences = {}
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # one snapshot for the summaries and their sources, whatever writers do meanwhile
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for table in summary_tables():
            keys = ", ".join(table.keys)
            summed = (
                f"SELECT {keys}, {_sums(table)} FROM {table.table} GROUP BY {keys} "
                f"HAVING {_nonzero(table, summed=True)}"
            )
            live = _source(table)
            cursor.execute(
                f"SELECT count(*) FROM (({summed} EXCEPT {live}) UNION ALL ({live} EXCEPT {summed})) AS d"
            )
            differences[table.table] = cursor.fetchone()[0]
    return differences
