"""While the database is away, every page answers 503 with Retry-After and a short page in the admin's
look: one log line per outage, no traceback per request, connection attempts backed off.

Each test runs Django in a process of its own (the breaker's state is per process) against a real
socket: a listener that counts connection attempts and hangs up on each (what a database that is
restarting does), or the test database itself. The fault drills (test_fault_drills.py) do the same
with gunicorn and a PostgreSQL server that is stopped and started under load.
"""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path

ROOT = Path(__file__).resolve().parents[2]


def lose_the_database(request):
    """Ends its own database session, as a server restart does to every open connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    return HttpResponse("unreachable")


def still_there(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("still there")


# This module is also the URL configuration of the processes started below.
handler500 = "backoffice.outage.server_error"
urlpatterns = [
    path("lose-the-database/", lose_the_database),
    path("still-there/", still_there),
    path("", include("backoffice.urls")),
]


class HangingUpDatabase:
    """A TCP listener standing in for a database that accepts connections and closes them at once."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.attempts = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self):
        return f"postgres://nobody@127.0.0.1:{self.socket.getsockname()[1]}/nothing"

    def _serve(self):
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.attempts += 1
            conn.close()

    def close(self):
        self.socket.close()


def run_django(script: str, database_url: str, **env) -> subprocess.CompletedProcess:
    """``script`` in a Django process with production error handling (DEBUG off), printing JSON."""
    prelude = textwrap.dedent(
        """
        import json, time, django
        django.setup()
        from django.test import Client
        client = Client(HTTP_HOST="localhost", raise_request_exception=False)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "DEBUG": "0",
            "SECRET_KEY": "outage-tests-" + "x" * 50,
            "BACKOFFICE_TESTING": "1",  # plain static files storage: no collectstatic needed
            "HTTPS": "0",
            "LOG_JSON": "0",
            "DATABASE_URL": database_url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


PAGES = [
    ("get", "/admin/"),
    ("get", "/admin/orders/order/?q=ORD-000001"),
    ("get", "/admin/inventory/product/"),
    ("get", "/admin/audit/auditentry/"),
    ("get", "/admin/login/?next=/admin/"),
    ("post", "/admin/login/"),
    ("get", "/"),
]


def test_every_page_answers_503_with_retry_after_and_the_outage_page():
    database = HangingUpDatabase()
    try:
        result = run_django(
            f"""
            answers = []
            for method, url in {PAGES!r}:
                response = getattr(client, method)(url)
                answers.append({{
                    "url": url, "method": method, "status": response.status_code,
                    "headers": dict(response.headers), "body": response.content.decode(),
                }})
            print(json.dumps(answers))
            """,
            database.url,
        )
    finally:
        database.close()

    answers = json.loads(result.stdout)
    assert [a["status"] for a in answers] == [503] * len(PAGES), result.stderr
    for answer in answers:
        assert answer["headers"]["Retry-After"] == "5"
        assert answer["headers"]["Cache-Control"] == "no-store"
        assert "script-src 'self' 'unsafe-eval'" in answer["headers"]["Content-Security-Policy"]
        body = answer["body"]
        assert "The database isn't answering" in body
        assert "/static/unfold/css/styles.css" in body  # the admin's look
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)  # no inline script
        assert "127.0.0.1" not in body and "Error" not in body  # nothing about the database or the driver
    get, post = answers[0]["body"], answers[5]["body"]
    assert '<meta http-equiv="refresh" content="5">' in get and "refresh" not in post
    assert "may not have been saved" in post
    assert 'href="/admin/orders/order/?q=ORD-000001"' in answers[1]["body"]  # "Try again"


def test_one_log_line_per_outage_and_connection_attempts_backed_off():
    database = HangingUpDatabase()
    try:
        result = run_django(
            """
            started, statuses = time.monotonic(), []
            while time.monotonic() - started < 2:
                statuses.append(client.get("/admin/orders/order/").status_code)
                time.sleep(0.005)
            print(json.dumps(statuses))
            """,
            database.url,
            DATABASE_RETRY_SECONDS="0.1,0.4",
        )
    finally:
        database.close()

    statuses = json.loads(result.stdout)
    assert set(statuses) == {503} and len(statuses) > 50, result.stderr
    # Tries at 0, 0.1, 0.3, 0.7, 1.1, 1.5, 1.9 s: a handful of attempts, not one per request.
    assert 4 <= database.attempts <= 9, database.attempts
    assert result.stderr.count("Database unavailable") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "Service Unavailable" not in result.stderr  # no line per request either


@pytest.mark.django_db
def test_a_request_that_loses_the_database_half_way_gets_the_503_and_service_returns():
    settings_dict = connection.settings_dict
    host = settings_dict["HOST"] or settings_dict["OPTIONS"].get("host")
    port = settings_dict["PORT"] or 5432
    database_url = f"postgres://{settings_dict['USER']}@/{settings_dict['NAME']}?host={host}&port={port}"
    result = run_django(
        """
        from django.conf import settings
        settings.ROOT_URLCONF = "tests.backoffice.test_database_outage"
        lost = client.get("/lose-the-database/")
        right_after = client.get("/still-there/")
        time.sleep(0.3)
        later = client.get("/still-there/")
        print(json.dumps({
            "lost": [lost.status_code, lost.headers.get("Retry-After")],
            "right_after": right_after.status_code,
            "later": [later.status_code, later.content.decode()],
        }))
        """,
        database_url,
        DATABASE_RETRY_SECONDS="0.2,1",
    )

    answers = json.loads(result.stdout)
    assert answers["lost"] == [503, "5"], result.stderr
    assert answers["right_after"] == 503  # within the back-off: not even tried
    assert answers["later"] == [200, "still there"]
    assert result.stderr.count("Database unavailable") == 1
    assert "terminating connection due to administrator command" in result.stderr
    assert result.stderr.count("Database back after") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "SELEC 1",  # a bug
        "SET LOCAL statement_timeout = 10; SELECT pg_sleep(1)",  # a slow query cancelled
    ],
)
def test_failed_statements_are_not_an_outage(statement):
    """Errors of a statement (a syntax error, a timeout: an OperationalError too) stay 500s with their
    traceback: they are bugs to see, not an outage to hide."""
    from django.db import transaction

    from backoffice.outage import is_database_unavailable

    with pytest.raises(Exception) as failed, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert not is_database_unavailable(failed.value)
