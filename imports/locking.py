"""Imports into one shop take turns: two at once would both plan to create the same keys, and the
second would fail on the unique index half-way. A PostgreSQL advisory lock per shop, held by the
importing connection for the whole import (released when it ends, or when the connection dies)."""

import time
from collections.abc import Callable
from contextlib import contextmanager

from django.db import connection
from django.utils import timezone

from core.tenancy import current_tenant

from .errors import ImportBusy
from .models import ImportJob

IMPORT_LOCK_NAMESPACE = 0x1D0C
REQUEST_LOCK_WAIT = 3.0  # an import confirmed in the admin waits this long, then goes to a worker
COMMAND_LOCK_WAIT = 120.0  # the shell's import waits this long, then says which import runs
WORKER_LOCK_WAIT = 3600.0  # a worker waits (with heartbeats) this long, then fails the job (retry later)
LOCK_POLL_SECONDS = 0.25


@contextmanager
def shop_import_lock(*, wait: float, on_wait: Callable[[], None] | None = None):
    """Hold the open shop's import lock; wait up to ``wait`` seconds for it (calling ``on_wait``
    between tries), else refuse with ``ImportBusy`` naming the import that runs. Re-entrant."""
    key = [IMPORT_LOCK_NAMESPACE, current_tenant().pk]
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise ImportBusy(_busy_message())
            if on_wait is not None:
                on_wait()
            time.sleep(LOCK_POLL_SECONDS)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


def _busy_message() -> str:
    running = ImportJob.objects.filter(status=ImportJob.Status.RUNNING).select_related("user").first()
    which = ""
    if running is not None:
        who = f" by {running.user}" if running.user else ""
        which = f" ({running.file_name}, started {timezone.localtime(running.started_at):%H:%M}{who})"
    return (
        f"Another import into this shop is running{which}; imports of one shop take turns. "
        "Start this one again when it has finished: nothing of it was imported."
    )
