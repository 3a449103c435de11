"""GET /healthz: 200 when the database (and a configured broker) answer, 503 naming what is down."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthy_with_the_default_file_system_broker(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": {"ok": True, "detail": "ok"}}}
    assert "no-cache" in response["Cache-Control"]


def test_head_requests_work_for_load_balancers(client):
    assert client.head("/healthz").status_code == 200


def test_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"

    started = time.perf_counter()
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "connecting" in body["checks"]["broker"]["detail"].lower()
    assert time.perf_counter() - started < 3  # one attempt, not Celery's retries


def test_503_quickly_when_the_broker_hangs(client, settings):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)  # accepts, never answers
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    try:
        started = time.perf_counter()
        response = client.get("/healthz")
        elapsed = time.perf_counter() - started
    finally:
        server.close()

    assert response.status_code == 503
    assert elapsed < 3


@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL not set (./dev test sets it)")
def test_healthy_with_a_live_redis_broker(client, settings):
    settings.CELERY_BROKER_URL = TEST_REDIS_URL

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == {"ok": True, "detail": "ok"}


def test_503_when_the_database_is_down():
    """A process whose database is a PostgreSQL server that isn't there answers 503, not 500."""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='localhost').get('/healthz'); print(r.status_code, r.content.decode())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{closed_port()}/nothing",
        "DB_CONN_MAX_AGE": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503", result.stderr
    assert json.loads(body)["checks"]["database"]["ok"] is False


def test_not_redirected_to_https_when_https_is_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/login/").status_code == 301
