"""Statements a hot path runs with the same text again and again (placing an order's), prepared once
per connection: PostgreSQL parses and plans each once, and the parameters are bound in the server
instead of quoted into the text by the driver.

Django turns psycopg's automatic preparation off (``prepare_threshold`` None, for connection poolers
that can't keep prepared statements), and psycopg then prepares nothing, even when asked. These
cursors ask, and lift the threshold only while they run: no other statement of the connection is
prepared (Django's own cursors bind on the client and never are).
"""

from contextlib import contextmanager

import psycopg
from django.db import connection

PREPARE_ONLY_ASKED = 2**31  # a threshold no statement reaches by being run again and again


class _PreparedCursor(psycopg.Cursor):
    def execute(self, query, params=None, *, prepare=True, binary=None):
        return super().execute(query, params, prepare=prepare, binary=binary)


@contextmanager
def _preparing():
    connection.ensure_connection()
    raw = connection.connection
    threshold = raw.prepare_threshold
    if threshold is None:  # Django's: nothing prepared unless asked
        raw.prepare_threshold = PREPARE_ONLY_ASKED
    try:
        yield raw
    finally:
        raw.prepare_threshold = threshold


def _wrapped(raw):
    """A prepared cursor wrapped as Django wraps its own (errors translated, queries logged when
    they are, no statement in a broken transaction)."""
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    return wrap(_PreparedCursor(raw))


@contextmanager
def prepared_cursor():
    """A cursor on the default connection whose statements are prepared (one statement per execute:
    the server binds the parameters)."""
    with _preparing() as raw, _wrapped(raw) as cursor:
        yield cursor


def prepared_pipeline(statements: list[tuple[str, list]]) -> list:
    """Run ``statements`` ((sql, params), one statement each) prepared, in one round trip (a psycopg
    pipeline); gives their cursors, for their row counts."""
    cursors = []
    # Errors surface when the pipeline ends: translated as Django's cursor does for each statement.
    with _preparing() as raw, connection.wrap_database_errors, raw.pipeline():
        for sql, params in statements:
            cursor = _wrapped(raw)
            cursor.execute(sql, params)
            cursors.append(cursor)
    return cursors
