"""Response time on every response, slow requests logged, and the log format per environment."""

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.urls import include, path

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
RESPONSE_TIME = re.compile(r"^\d+\.\dms$")


def slow_view(request):
    time.sleep(0.12)
    return HttpResponse("done", status=201)


def fast_view(request):
    return HttpResponse("done")


# This module is also the URL configuration of the slow-request tests.
urlpatterns = [
    path("slow/", slow_view),
    path("fast/", fast_view),
    path("", include("backoffice.urls")),
]


@pytest.fixture
def with_test_views(settings):
    settings.ROOT_URLCONF = __name__


def test_every_response_has_its_time(client, superuser):
    client.force_login(superuser)
    for url in ("/admin/", "/healthz", "/admin/nothing-here/", "/"):
        response = client.get(url)
        assert RESPONSE_TIME.match(response["X-Response-Time"]), (url, response["X-Response-Time"])


def test_slow_requests_are_logged_with_method_path_status_and_time(client, settings, with_test_views, caplog):
    settings.SLOW_REQUEST_SECONDS = 0.1

    with caplog.at_level(logging.WARNING, logger="backoffice.performance"):
        response = client.post("/slow/?page=2")
        client.get("/fast/")

    assert response.status_code == 201
    (record,) = [r for r in caplog.records if r.name == "backoffice.performance"]
    assert record.levelno == logging.WARNING
    assert (record.method, record.path, record.status) == ("POST", "/slow/?page=2", 201)
    assert 120 <= record.duration_ms < 5000
    assert record.getMessage().startswith("Slow request: POST /slow/?page=2 -> 201 in ")
    assert float(response["X-Response-Time"].removesuffix("ms")) >= 120


def test_the_wait_before_django_counts_in_the_slow_request_warning(client, settings, with_test_views, caplog):
    """gunicorn (backoffice/gunicorn.conf.py) says when it took the connection: a fast page that
    waited 1.5 s for a worker is a slow request, and the warning says where the time went."""
    settings.SLOW_REQUEST_SECONDS = 1.0
    arrived = time.time() - 1.5

    with caplog.at_level(logging.WARNING, logger="backoffice.performance"):
        client.get("/fast/", HTTP_X_GUNICORN_QUEUE_START=f"t={arrived:.6f}")

    (record,) = [r for r in caplog.records if r.name == "backoffice.performance"]
    assert 1500 <= record.queue_ms < 5000
    assert record.duration_ms < 1000
    assert record.total_ms == pytest.approx(record.queue_ms + record.duration_ms, abs=0.2)
    assert "waiting for a worker" in record.getMessage()


@pytest.mark.parametrize(
    ("trusted_proxies", "value", "logged"),
    [
        (1, "t={seconds:.3f}", True),  # nginx's $msec
        (1, "t={milliseconds}", True),
        (1, "{microseconds}", True),
        (0, "t={seconds:.3f}", False),  # no proxy: a client could send anything
        (1, "yesterday", False),
    ],
)
def test_a_trusted_proxys_request_start_counts_too(
    trusted_proxies, value, logged, client, settings, with_test_views, caplog
):
    settings.SLOW_REQUEST_SECONDS = 1.0
    settings.TRUSTED_PROXIES = trusted_proxies
    seconds = time.time() - 2
    header = value.format(seconds=seconds, milliseconds=int(seconds * 1e3), microseconds=int(seconds * 1e6))

    with caplog.at_level(logging.WARNING, logger="backoffice.performance"):
        client.get("/fast/", HTTP_X_REQUEST_START=header)

    records = [r for r in caplog.records if r.name == "backoffice.performance"]
    assert len(records) == (1 if logged else 0)
    if logged:
        assert 2000 <= records[0].queue_ms < 5000


def test_fast_requests_are_not_logged(client, settings, with_test_views, caplog):
    settings.SLOW_REQUEST_SECONDS = 1.0

    with caplog.at_level(logging.WARNING, logger="backoffice.performance"):
        client.get("/slow/")

    assert not [r for r in caplog.records if r.name == "backoffice.performance"]


LOG_SCRIPT = """
import django, logging
django.setup()
logging.getLogger("backoffice.performance").warning(
    "Slow request: %s %s -> %s in %.0f ms", "GET", "/admin/", 200, 1234.5,
    extra={"method": "GET", "path": "/admin/", "status": 200, "duration_ms": 1234.5},
)
"""


def log_line(**env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("LOG_JSON", "DEBUG")},
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "SECRET_KEY": "k" * 60,
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stderr.strip().splitlines()[-1]


def test_production_logs_one_json_object_per_line():
    line = log_line(DEBUG="0")

    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "backoffice.performance"
    assert entry["message"] == "Slow request: GET /admin/ -> 200 in 1234 ms"
    assert (entry["method"], entry["path"], entry["status"], entry["duration_ms"]) == (
        "GET",
        "/admin/",
        200,
        1234.5,
    )
    assert "time" in entry


def test_development_logs_are_readable_lines():
    line = log_line(DEBUG="1")

    assert re.match(
        r"^\d{4}-\d\d-\d\d [\d:,]+ WARNING +backoffice.performance: Slow request: GET /admin/", line
    ), line
