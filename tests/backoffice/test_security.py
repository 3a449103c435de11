"""Security headers, the Content Security Policy the admin works under, and the deployment check."""

import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from orders.services import order_place

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def csp_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_strict_content_security_policy_on_admin_pages(client_for, superuser):
    policy = csp_of(client_for(superuser).get("/admin/"))

    assert policy["default-src"] == ["'self'"]
    # Alpine.js (Unfold) evaluates expressions; no inline or third-party script is allowed.
    assert policy["script-src"] == ["'self'", "'unsafe-eval'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]


def test_the_login_page_is_covered_too(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert "'unsafe-inline'" not in csp_of(response)["script-src"]


# Data blocks (type="application/json") aren't run, so the policy doesn't concern them.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)


@pytest.fixture
def pages(make_product, make_customer):
    product = make_product()
    customer = make_customer()
    order = order_place(customer=customer, lines={product: 1})
    return [
        "/admin/",
        "/admin/inventory/product/",
        f"/admin/inventory/product/{product.pk}/change/",
        "/admin/inventory/product/add/",
        "/admin/orders/order/",
        f"/admin/orders/order/{order.pk}/change/",
        f"/admin/orders/customer/{customer.pk}/change/",
        "/admin/inventory/stockmovement/",
        "/admin/audit/auditentry/",
        "/admin/axes/accessattempt/",
        "/admin/auth/user/",
    ]


def test_admin_pages_have_no_inline_scripts_or_handlers(client_for, superuser, pages):
    """The policy would block them: a page that had one would silently lose behaviour."""
    client = client_for(superuser)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert not INLINE_SCRIPT.findall(html), (url, INLINE_SCRIPT.findall(html))
        assert not INLINE_HANDLER.findall(html), (url, INLINE_HANDLER.findall(html))


def test_security_headers(client):
    response = client.get("/admin/login/")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_and_secure_cookies_when_https_is_on(client, settings, superuser):
    production = settings_with(DEBUG="0", HTTPS="1", SECRET_KEY="k" * 60)
    for name in (
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    ):
        setattr(settings, name, production[name])

    assert client.get("/admin/login/").status_code == 301  # plain HTTP goes to HTTPS
    response = client.get("/admin/login/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "secure" in str(response.cookies["csrftoken"]).lower()


def test_no_hsts_in_development():
    development = settings_with(DEBUG="1", HTTPS="")

    assert development["SECURE_HSTS_SECONDS"] == 0
    assert development["SECURE_SSL_REDIRECT"] is False


def settings_with(**env) -> dict:
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return runpy.run_path(str(ROOT / "backoffice" / "settings.py"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def manage(*args, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "HTTPS", "SECRET_KEY", "LOG_JSON")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_check(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        HTTPS="1",
        SECRET_KEY=secrets.token_urlsafe(50),
        STATIC_ROOT=str(tmp_path / "static"),  # not collected: the check mustn't need it
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0", HTTPS="1", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_checking_for_missing_migrations_needs_no_secret_key():
    result = manage("makemigrations", "--check", "--dry-run", DEBUG="0", SECRET_KEY="")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
