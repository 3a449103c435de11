"""Two connections racing on PostgreSQL: one side waits for the other's row lock."""

import threading
import time

from django.db import connection, connections

from core.tenancy import activate


def someone_waits_for_a_lock(timeout=20.0):
    """Until another connection of this database waits for a row lock (what the race is about)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_stat_activity is read once per transaction unless the snapshot is dropped.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("nobody waited for the lock")


def in_thread(target, results, shop=None):
    """Run ``target`` on a thread of its own (its own database connection); its result or error is
    appended to ``results``."""

    def run():
        try:
            if shop is None:
                results.append(target())
            else:
                with activate(shop):
                    results.append(target())
        except BaseException as error:  # handed to the test
            results.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
