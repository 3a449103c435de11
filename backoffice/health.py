"""``GET /healthz``: 200 when the database (and the Celery broker, when one is configured) answer,
503 otherwise. Each check makes one attempt with a short timeout, so a load balancer gets its answer
in about a second even when a server hangs.

Anybody gets up or down (``{"status": "ok"}`` / ``{"status": "unavailable"}``); which check failed
and the driver's error (hosts, ports, socket paths) only staff and ``HEALTHZ_DETAIL_IPS`` see.

The cache isn't checked: a Redis outage degrades pages to uncached ones, it doesn't take the
service down (see ``core.cache``).
"""

import ipaddress

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .celery import app
from .middleware import client_ip_address

TIMEOUT_SECONDS = 1


def _failure(error: Exception) -> tuple[bool, str]:
    return False, f"{type(error).__name__}: {error}"[:200]


def database_status() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return _failure(error)
    return True, "ok"


def broker_status() -> tuple[bool, str] | None:
    """The Celery broker's state, when a server broker (Redis) is configured; None otherwise."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return None
    transport_options = {
        **(app.conf.broker_transport_options or {}),
        "socket_timeout": TIMEOUT_SECONDS,
        "socket_connect_timeout": TIMEOUT_SECONDS,
    }
    try:
        with app.connection_for_write(
            settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_SECONDS, transport_options=transport_options
        ) as conn:
            conn.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)
    except Exception as error:
        return _failure(error)
    return True, "ok"


@never_cache
@require_safe
def healthz(request):
    checks = {"database": database_status()}
    broker = broker_status()
    if broker is not None:
        checks["broker"] = broker
    healthy = all(ok for ok, _ in checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    if may_see_details(request):
        body["checks"] = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}
    return JsonResponse(body, status=200 if healthy else 503)


def may_see_details(request) -> bool:
    if _address_in(client_ip_address(request), settings.HEALTHZ_DETAIL_IPS):
        return True
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_active and user.is_staff)
    except (OperationalError, InterfaceError):  # the session can't be read: the database is away
        return False


def _address_in(address: str | None, allowed: list[str]) -> bool:
    if not address or not allowed:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
