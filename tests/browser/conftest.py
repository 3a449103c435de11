"""Real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a production-like server.

The server is gunicorn in a subprocess with DEBUG off, the Content Security Policy on and static files
collected (hashed, compressed) and served by WhiteNoise, exactly as ``./dev serve`` runs it. It reads
the test database, so the tests use committed data (``transactional_db``) and need PostgreSQL.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs Debian's chromium (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords and not Path(CHROMIUM).exists():
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def production_env(django_db_setup, tmp_path_factory):
    """The production-like environment, with static files collected once for the session."""
    settings_dict = connection.settings_dict
    options = settings_dict.get("OPTIONS", {})
    host = settings_dict.get("HOST") or options.get("host") or "localhost"
    db_port = settings_dict.get("PORT") or options.get("port") or 5432
    static_root = tmp_path_factory.mktemp("static")
    env = {
        **os.environ,
        "DEBUG": "0",
        "HTTPS": "0",
        "SECRET_KEY": "browser-tests-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@/{settings_dict['NAME']}?host={host}&port={db_port}"
        ),
        "DB_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "WARNING",
        "AXES_ENABLED": "1",
        "FAST_PASSWORD_HASHING": "1",
        # Tasks the server sends (an order's e-mail) wait in a folder of the run: no worker runs them.
        "CELERY_QUEUE_DIR": str(tmp_path_factory.mktemp("server-celery-queue")),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return env


def _serve(env, log_path):
    """gunicorn on a free port with ``env``; yields its URL once it answers, stops it after."""
    port = _free_port()
    log = open(log_path, "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "backoffice/gunicorn.conf.py"],
        cwd=ROOT,
        # As ./dev serve runs it (backoffice/gunicorn.conf.py), with two workers: the machine is shared.
        env={**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    last = None
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            break
        except urllib.error.HTTPError as error:
            last = error.read().decode()
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    else:
        server.terminate()
        raise RuntimeError(f"the server did not start ({last}): see {log.name}")
    yield url
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture
def production_server(production_env, transactional_db, tmp_path):
    """gunicorn with production settings, one per test: each transactional test empties the database
    (content types get new ids), so a server must not outlive the test whose data it serves."""
    yield from _serve(production_env, tmp_path / "gunicorn.log")


@pytest.fixture
def development_server(production_env, transactional_db, tmp_path):
    """The server as ``./dev demo`` runs it: DEBUG on, so the debug toolbar is on every page."""
    env = {**production_env, "DEBUG": "1", "DEBUG_TOOLBAR": "1", "LOG_LEVEL": "WARNING"}
    env.pop("SECRET_KEY")
    yield from _serve(env, tmp_path / "gunicorn.log")


@pytest.fixture
def browser(monkeypatch):
    """A fresh Chromium per test, closed with it (Playwright's event loop must not outlive the test)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test's thread; the tests touch the database
    # only between browser steps, never concurrently with them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def log_in_at(page, server, username, password):
    page.goto(server + "/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/admin/")
    return page


@pytest.fixture
def login(page, production_server):
    return lambda username, password: log_in_at(page, production_server, username, password)
