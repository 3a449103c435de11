"""GET /healthz: 200 when the database (and a configured broker) answer, 503 when not; which check
failed, and why, only for staff and for the addresses HEALTHZ_DETAIL_IPS lists."""

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


@pytest.fixture
def details(settings):
    """The test client's address (127.0.0.1) may see the checks' details."""
    settings.HEALTHZ_DETAIL_IPS = ["127.0.0.1"]


def test_healthy_with_the_default_file_system_broker(client, details):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": {"ok": True, "detail": "ok"}}}
    assert "no-cache" in response["Cache-Control"]


def test_anonymous_callers_get_up_or_down_only(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"

    assert client.get("/healthz").json() == {"status": "unavailable"}
    settings.CELERY_BROKER_URL = "filesystem://"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_staff_and_listed_networks_get_the_details(client, settings, superuser, ops_user):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    settings.HEALTHZ_DETAIL_IPS = ["10.0.0.0/8"]

    assert "checks" in client.get("/healthz", REMOTE_ADDR="10.1.2.3").json()
    assert "checks" not in client.get("/healthz", REMOTE_ADDR="192.168.1.2").json()
    client.force_login(ops_user)
    assert client.get("/healthz", REMOTE_ADDR="192.168.1.2").json()["checks"]["broker"]["ok"] is False


def test_head_requests_work_for_load_balancers(client):
    assert client.head("/healthz").status_code == 200


def test_503_when_the_broker_is_down(client, settings, details):
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
def test_healthy_with_a_live_redis_broker(client, settings, details):
    settings.CELERY_BROKER_URL = TEST_REDIS_URL

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"] == {"ok": True, "detail": "ok"}


@pytest.mark.parametrize("detail_ips", ["", "127.0.0.1"])
def test_503_when_the_database_is_down(detail_ips):
    """A process whose database is a PostgreSQL server that isn't there answers 503, not 500; an
    anonymous caller doesn't learn where the database is or what the driver said."""
    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='localhost').get('/healthz'); print(r.status_code, r.content.decode())"
    )
    port = closed_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/nothing",
        "DB_CONN_MAX_AGE": "0",
        "HEALTHZ_DETAIL_IPS": detail_ips,
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503", result.stderr
    if detail_ips:
        assert json.loads(body)["checks"]["database"]["ok"] is False
        assert str(port) in body
    else:
        assert json.loads(body) == {"status": "unavailable"}


def test_not_redirected_to_https_when_https_is_on(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/login/").status_code == 301
