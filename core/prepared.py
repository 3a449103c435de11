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
from django.db import DEFAULT_DB_ALIAS, connections

PREPARE_ONLY_ASKED = 2**31  # a threshold no statement reaches by being run again and again


class _PreparedCursor(psycopg.Cursor):
    def execute(self, query, params=None, *, prepare=True, binary=None):
        return super().execute(query, params, prepare=prepare, binary=binary)


@contextmanager
def _preparing(wrapper):
    wrapper.ensure_connection()
    raw = wrapper.connection
    threshold = raw.prepare_threshold
    if threshold is None:  # Django's: nothing prepared unless asked
        raw.prepare_threshold = PREPARE_ONLY_ASKED
    try:
        yield raw
    finally:
        raw.prepare_threshold = threshold


def _wrapped(wrapper, raw):
    """A prepared cursor wrapped as Django wraps its own (errors translated, queries logged when
    they are, no statement in a broken transaction)."""
    wrap = wrapper.make_debug_cursor if wrapper.queries_logged else wrapper.make_cursor
    return wrap(_PreparedCursor(raw))


@contextmanager
def prepared_cursor():
    """A cursor on the default connection whose statements are prepared (one statement per execute:
    the server binds the parameters)."""
    wrapper = connections[DEFAULT_DB_ALIAS]  # the proxy ``connection`` looks it up at every use
    with _preparing(wrapper) as raw, _wrapped(wrapper, raw) as cursor:
        yield cursor


def prepared_pipeline(statements: list[tuple[str, list]]) -> list:
    """Run ``statements`` ((sql, params), one statement each) prepared, in one round trip (a psycopg
    pipeline); gives their cursors, for their row counts and rows."""
    wrapper = connections[DEFAULT_DB_ALIAS]
    cursors = []
    # Errors surface when the pipeline ends: translated as Django's cursor does for each statement.
    with _preparing(wrapper) as raw, wrapper.wrap_database_errors, raw.pipeline():
        if wrapper.queries_logged:  # each statement through Django's cursor, to be logged
            for sql, params in statements:
                cursor = _wrapped(wrapper, raw)
                cursor.execute(sql, params)
                cursors.append(cursor)
            return cursors
        # What Django's cursor checks for each statement, checked once for them all (its wrappers
        # cost more than the statements' own sending).
        wrapper.validate_no_broken_transaction()
        for sql, params in statements:
            cursor = _PreparedCursor(raw)
            cursor.execute(sql, params)
            cursors.append(cursor)
    return cursors
