"""gunicorn's settings for ``./dev serve``, the browser tests, the fault drills and ``bench/load``.

    gunicorn -c backoffice/gunicorn.conf.py

Environment: ``BIND`` (127.0.0.1:8000), ``WEB_CONCURRENCY`` (worker processes, default one per core),
``WEB_THREADS`` (threads per worker, default 4), ``WEB_TIMEOUT``, ``WEB_ACCESS_LOG`` ("" for none),
``WEB_CONTROL_SOCKET`` (a path for ``gunicornc``; none by default).

Why threaded workers, one per core (bench/RESULTS.md, "Load"; README, Production): a page is CPU-bound
Python (Unfold's templates), so more processes than cores only take turns on them; but each page
also waits for PostgreSQL a few times, and a thread of the same process runs meanwhile. Against sync
workers (one request per process, one or two per core) the threads served more pages per second with
the same CPU per page in every run. They also keep connections alive, and they accept
connections as they come, so the time a request waits for a free thread is measured (below);
the price is that a worker killed or crashed loses the requests of all its threads.

Each request carries the time its connection reached gunicorn (``X-Gunicorn-Queue-Start``), so the
slow-request log counts the time it waited for a free thread (``backoffice.middleware``).
Each worker warms up (renders the admin once) before it accepts connections: ``backoffice.warmup``.
"""

import os
import threading
import time

from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

QUEUE_START_HEADER = "X-GUNICORN-QUEUE-START"  # gunicorn keeps header names upper-cased

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
threads = int(os.environ.get("WEB_THREADS") or 4)
wsgi_app = "backoffice.wsgi"
# A worker that hasn't reported to the master for this long is hung: it is killed and replaced. (A
# threaded worker reports between requests of any thread: a single slow request doesn't trip it.)
timeout = int(os.environ.get("WEB_TIMEOUT") or 30)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (jittered, so they don't all restart at once): memory a library
# holds on to can't grow without bound.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("WEB_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
proc_name = "backoffice"
# gunicornc's control socket only where one is asked for: its default path in $HOME would be shared by
# every gunicorn of the user (tests, benchmarks, other checkouts), each taking it from the last.
control_socket_disable = not os.environ.get("WEB_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["WEB_CONTROL_SOCKET"]

_arrival = threading.local()


class StampedSyncWorker(SyncWorker):
    """A sync worker that notes when it took each connection (the kernel's backlog before that is
    only visible to a proxy's X-Request-Start)."""

    def handle(self, listener, client, addr):
        _arrival.time = time.time()
        return super().handle(listener, client, addr)


class StampedThreadWorker(ThreadWorker):
    """A threaded worker that notes when each request's connection was accepted (or became readable
    again, kept alive): the wait for a free thread is then visible."""

    def enqueue_req(self, conn):
        conn.arrived = time.time()
        return super().enqueue_req(conn)

    def handle(self, conn):
        _arrival.time = getattr(conn, "arrived", None)
        return super().handle(conn)


worker_class = StampedThreadWorker if threads > 1 else StampedSyncWorker


def pre_request(worker, req):
    """Pass the connection's arrival time to Django (replacing any client-sent copy)."""
    arrived = getattr(_arrival, "time", None) or time.time()
    req.headers = [(name, value) for name, value in req.headers if name != QUEUE_START_HEADER]
    req.headers.append((QUEUE_START_HEADER, f"t={arrived:.6f}"))


def post_worker_init(worker):
    """Each worker renders the admin's pages once before it accepts requests (backoffice/warmup.py)."""
    # Imported here: the worker has loaded the application by now, this config file hasn't.
    from backoffice.warmup import post_worker_init as warm_up

    warm_up(worker)
