"""Repeated keys in a file (two rows for one SKU), found without holding the file's keys in memory."""

import uuid

from django.db import connection


class RepeatedKeys:
    """Rows whose key an earlier row of the file has too, found by the database.

    The file's (key, row) pairs go to a temporary table of this connection while the file is checked,
    then one query groups them: a set of a million keys in Python would take ~100 MB, so memory would
    grow with the file. The table is dropped when the import ends.
    """

    def __init__(self):
        self.table = f"import_keys_{uuid.uuid4().hex[:16]}"
        self.count = 0

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} (key text NOT NULL, row_number integer NOT NULL)"
            )
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}_repeats")
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def add(self, pairs):
        pairs = list(pairs)
        if not pairs:
            return
        with (
            connection.cursor() as cursor,
            cursor.connection.cursor().copy(f"COPY {self.table} (key, row_number) FROM STDIN") as copy,
        ):
            for pair in pairs:
                copy.write_row(pair)

    def find(self) -> int:
        """Group the keys once; the repeating rows are kept in a second small table."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table}_repeats AS "  # noqa: S608
                f"SELECT k.row_number, k.key, f.first_row FROM {self.table} k JOIN "
                f"(SELECT key, MIN(row_number) AS first_row FROM {self.table} GROUP BY key "
                f"HAVING COUNT(*) > 1) f ON f.key = k.key WHERE k.row_number > f.first_row"
            )
            cursor.execute(f"SELECT COUNT(*) FROM {self.table}_repeats")  # noqa: S608
            self.count = cursor.fetchone()[0]
        return self.count

    def first(self, limit: int) -> list[tuple[int, str, int]]:
        """(row, key, the first row with that key) of the first ``limit`` repeating rows."""
        if not self.count:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number, key, first_row FROM {self.table}_repeats ORDER BY row_number LIMIT %s",  # noqa: S608
                [limit],
            )
            return cursor.fetchall()

    def among(self, low: int, high: int) -> set[int]:
        """The repeating rows numbered from ``low`` to ``high``."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_number FROM {self.table}_repeats WHERE row_number BETWEEN %s AND %s",  # noqa: S608
                [low, high],
            )
            return {number for (number,) in cursor.fetchall()}
