"""``GET /healthz``: 200 when the database (and the Celery broker, when one is configured) answer,
503 with the failing check named otherwise. Each check makes one attempt with a short timeout, so
a load balancer gets its answer in about a second even when a server hangs.

The cache isn't checked: a Redis outage degrades pages to uncached ones, it doesn't take the
service down (see ``core.cache``).
"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .celery import app

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
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)
