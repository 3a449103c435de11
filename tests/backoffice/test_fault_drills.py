"""Fault drills: the production server (gunicorn with backoffice/gunicorn.conf.py, DEBUG off) under load
from logged-in staff while its database restarts or stays away, a worker is killed, Redis stops.

The drills start their own servers, so that they can stop them: an embedded PostgreSQL cluster
(backoffice/localdb.py) with a small demo shop, gunicorn, and redis-server when it is installed
(CI installs it). Each drill runs about 10-15 s of load; what staff get is recorded request by
request and checked against what they should see:

- database away: every page answers 200 or 503 with Retry-After and the outage page, never a 500 or
  a broken connection; the log says so once per worker process, without a traceback; pages are
  back within 2 s of the database;
- a worker killed: at most the requests it held fail, and the master replaces it;
- Redis away: nothing fails.
"""

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import loadclient  # noqa: E402 - bench/ on the path: the load benchmark's client and server helpers

from backoffice import localdb  # noqa: E402

WORKERS = 2  # the machine is shared; the worker model (sync or threads) is the config file's
PAGES = [
    "/admin/",
    "/admin/orders/order/",
    "/admin/inventory/product/",
    "/admin/inventory/product/?q=lamp",
    "/admin/orders/customer/",
]
STAFF = [("support", "support-demo"), ("ops", "ops-demo"), ("admin", "admin-demo")] * 2
BACK_WITHIN_SECONDS = 2.0


class Database:
    """A PostgreSQL cluster of the drills' own, which they stop and start."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.url = localdb.database_url(folder)

    def start(self) -> float:
        localdb.start(self.folder, fast=True)
        return time.monotonic()

    def stop(self):
        localdb.stop(self.folder)

    def delete(self):
        localdb.stop(self.folder, delete=True)


@pytest.fixture(scope="module")
def database():
    folder = Path(tempfile.mkdtemp(prefix="drill-pg-"))  # short: the socket's path has to fit
    db = Database(folder)
    db.start()
    yield db
    db.delete()


@pytest.fixture(scope="module")
def static_root(database, tmp_path_factory):
    """Static files collected (as ./dev serve does) while the database is migrated and seeded with a
    small demo shop and its logins."""
    root = tmp_path_factory.mktemp("static")
    collecting = subprocess.Popen(  # the project's own manage.py, as ./dev serve runs it
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=loadclient.production_env(database.url, root),
    )
    # seed_demo creates the demo logins in development only.
    env = {**loadclient.production_env(database.url, root), "DEBUG": "1", "FAST_PASSWORD_HASHING": "1"}
    for command in (
        ["migrate", "--noinput"],
        ["seed_demo", "--products", "60", "--customers", "10", "--orders", "60"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    assert collecting.wait(300) == 0
    return root


def start_server(database, static_root, log_path, **env) -> loadclient.Gunicorn:
    """gunicorn as ./dev serve runs it (backoffice/gunicorn.conf.py), with two workers."""
    env = loadclient.production_env(
        database.url, static_root, WEB_CONCURRENCY=str(WORKERS), FAST_PASSWORD_HASHING="1", **env
    )
    return loadclient.Gunicorn(env, log_path).start()


@pytest.fixture
def server(database, static_root, tmp_path):
    server = start_server(database, static_root, tmp_path / "gunicorn.log")
    yield server
    server.stop()


class Load:
    """Staff looping over PAGES until stopped; every answer kept, with when it was sent."""

    def __init__(self, server):
        self.sessions = []
        for username, password in STAFF:
            session = loadclient.StaffSession(server.url, username, password, timeout=20)
            session.log_in()
            self.sessions.append(session)
        self.answers: list[loadclient.Answer] = []
        self.stopped = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(s, n), daemon=True) for n, s in enumerate(self.sessions)
        ]

    def _run(self, session, n):
        turn = n
        while not self.stopped.is_set():
            answer = session.get(PAGES[turn % len(PAGES)])
            turn += 1
            self.answers.append(answer)
            if answer.status == 200:
                answer.body = b""  # only error pages are looked at
            else:
                time.sleep(0.05)  # a person doesn't hammer an error page; the outage page reloads in 5 s

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        for thread in self.threads:
            thread.join(30)
        for session in self.sessions:
            session.close()

    def between(self, start, end=float("inf")):
        return [a for a in self.answers if start <= a.started < end]


def log_entries(server) -> list[dict]:
    entries = []
    for line in server.log_text().splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):  # a line of gunicorn's own
                entries.append(json.loads(line))
    return entries


def describe(load, *, away, back):
    """What staff got, for the record (pytest -s, or a failure's output)."""
    counts = {}
    for answer in load.answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    first_back = min((a.started + a.seconds for a in load.between(back) if a.status == 200), default=None)
    again = f"{first_back - back:.2f}s" if first_back else "never"
    print(f"answers by status {counts}; database away {back - away:.1f}s; first page after it: {again}")


def assert_outage_answers(answers):
    """Only 200s and 503s with Retry-After and the outage page: no 500, no broken connection."""
    statuses = {a.status for a in answers}
    assert statuses <= {200, 503}, sorted(
        {(a.status, a.error[:100]) for a in answers if a.status not in (200, 503)}
    )
    for answer in answers:
        if answer.status == 503:
            assert answer.retry_after == "5"
            assert b"The database isn't answering" in answer.body


def assert_one_line_per_worker_and_no_traceback(server):
    log = server.log_text()
    entries = log_entries(server)
    started = [e for e in entries if e.get("outage") == "started"]
    assert 1 <= len(started) <= WORKERS + 1, started  # a restarted worker may log its own
    assert "Traceback" not in log
    assert "Internal Server Error" not in log


def test_database_restart_under_load(server, database):
    with Load(server) as load:
        time.sleep(3)
        stopped = time.monotonic()
        database.stop()  # "fast": open connections are ended, new ones refused
        time.sleep(1)
        back = database.start()
        time.sleep(5)

    describe(load, away=stopped, back=back)
    before = [a for a in load.answers if a.started + a.seconds < stopped]
    assert before and all(a.status == 200 for a in before), "the drill needs a healthy start"
    assert_outage_answers(load.answers)
    during = load.between(stopped, back)
    assert any(a.status == 503 for a in during), "the restart went unnoticed: no drill"
    late = [a for a in load.between(back + BACK_WITHIN_SECONDS) if a.status != 200]
    assert not late, (
        f"{len(late)} requests failed more than {BACK_WITHIN_SECONDS}s after the database was back"
    )
    assert load.between(back + BACK_WITHIN_SECONDS)
    assert_one_line_per_worker_and_no_traceback(server)
    assert any(e.get("outage") == "ended" for e in log_entries(server))


def test_database_away_for_a_while_under_load(server, database):
    """Ten seconds without a database: staff get the outage page at once (not a connection attempt
    each), and the workers try again at a growing interval, capped so that they notice its return."""
    with Load(server) as load:
        time.sleep(2)
        stopped = time.monotonic()
        database.stop()
        time.sleep(10)
        back = database.start()
        time.sleep(4)

    describe(load, away=stopped, back=back)
    assert_outage_answers(load.answers)
    # A second off each edge: a request started just before the restart returned may reach it and get a 200.
    away = load.between(stopped + 1, back - 1)
    assert len(away) > 50 and all(a.status == 503 for a in away)
    # Answered by the breaker without touching the database: at once, not after a connection timeout.
    assert statistics.median(a.seconds for a in away) < 1
    assert not [a for a in load.between(back + BACK_WITHIN_SECONDS) if a.status != 200]
    assert_one_line_per_worker_and_no_traceback(server)
    ended = [e for e in log_entries(server) if e.get("outage") == "ended"]
    assert ended and all(e["refused"] > 0 for e in ended)
    # Backed off: a process tries the database a handful of times while answering hundreds of requests
    # (intervals of 0.1, 0.2, 0.4, 0.8, then 1 s: about 14 tries in 10 s), not once per request.
    assert all(e["attempts"] <= 20 for e in ended), ended
    assert sum(e["attempts"] for e in ended) * 5 < sum(e["refused"] for e in ended), ended


def test_a_killed_worker_costs_at_most_the_requests_it_held(server):
    with Load(server) as load:
        time.sleep(3)
        victim = server.worker_pids()[0]
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        time.sleep(6)

    # Requests it held were cut off. A browser (as the client does) sends a GET cut off on a kept-alive
    # connection again on a new one, so staff see it arrive late rather than fail; requests sent after
    # the kill on its idle kept-alive connections go again too, and lose nothing.
    cut_off = [a for a in load.answers if (a.status != 200 or a.retried) and a.started < killed]
    failed = [a for a in load.answers if a.status != 200]
    print(f"{len(load.answers)} requests: {len(cut_off)} cut off by the kill, {len(failed)} failed")
    # Only requests in flight when it died: the worker held them (a threaded worker holds those of its
    # threads and the connections it accepted for them).
    assert all(a.started < killed < a.started + a.seconds for a in cut_off)
    assert all(a in cut_off for a in failed)
    assert all(a.status is None for a in failed)  # the connection dropped: no error page was sent
    replaced = server.worker_pids()
    assert len(replaced) == WORKERS and victim not in replaced
    assert load.between(killed + 2) and all(a.status == 200 for a in load.between(killed + 2))


@pytest.fixture
def redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (CI installs it)")
    port = loadclient.free_port()
    process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    yield process, f"redis://127.0.0.1:{port}/0"
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_redis_away_costs_nothing(database, static_root, redis, tmp_path):
    process, url = redis
    server = start_server(database, static_root, tmp_path / "gunicorn.log", REDIS_URL=url)
    try:
        with Load(server) as load:
            time.sleep(3)
            process.kill()  # no goodbye: as a crashed or unreachable Redis
            process.wait(10)
            time.sleep(6)
    finally:
        server.stop()

    assert load.answers and all(a.status == 200 for a in load.answers), {
        (a.status, a.error[:100]) for a in load.answers if a.status != 200
    }
    warnings = [e for e in log_entries(server) if e.get("logger") == "core.cache"]
    assert 1 <= len(warnings) <= 2 * WORKERS  # "working without it for 10 s", per process


def test_the_wait_for_a_worker_is_in_the_slow_request_log(database, static_root, tmp_path):
    """More staff than threads: requests wait for a thread after gunicorn took them, and the
    slow-request warnings count that wait (queue_ms) with the time in Django."""
    server = start_server(
        database, static_root, tmp_path / "gunicorn.log", WEB_THREADS="2", SLOW_REQUEST_SECONDS="0.3"
    )
    try:
        with Load(server):
            time.sleep(4)
    finally:
        server.stop()

    slow = [e for e in log_entries(server) if e.get("logger") == "backoffice.performance"]
    assert slow, "six staff on two threads: some requests must wait"
    waited = [e for e in slow if e["queue_ms"] > 50]
    assert waited
    for entry in slow:
        assert entry["total_ms"] == pytest.approx(entry["queue_ms"] + entry["duration_ms"], abs=0.2)
        assert entry["total_ms"] >= 300
