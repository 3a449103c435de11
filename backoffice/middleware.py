"""The site's own middleware: response times and the slow-request log (queue time included), the
client's address behind proxies. The database outage's middleware is in ``backoffice.outage``."""

import logging
import time

from django.conf import settings

logger = logging.getLogger("backoffice.performance")

QUEUE_START_HEADERS = ("HTTP_X_GUNICORN_QUEUE_START",)  # set by backoffice/gunicorn.conf.py
PROXY_QUEUE_START_HEADER = "HTTP_X_REQUEST_START"  # set by a proxy (nginx: "t=${msec}")


class ResponseTimeMiddleware:
    """Adds ``X-Response-Time`` (the time inside Django) to every response and logs a warning for
    slow requests, counting the time the request waited for a worker before Django saw it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        arrived = time.time()
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        response["X-Response-Time"] = f"{elapsed * 1000:.1f}ms"
        queued = queue_seconds(request, now=arrived)
        if queued + elapsed >= settings.SLOW_REQUEST_SECONDS:
            logger.warning(
                "Slow request: %s %s -> %s in %.0f ms (%.0f ms waiting for a worker, %.0f ms in Django)",
                request.method,
                request.get_full_path(),
                response.status_code,
                (queued + elapsed) * 1000,
                queued * 1000,
                elapsed * 1000,
                extra={
                    "method": request.method,
                    "path": request.get_full_path(),
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                    "queue_ms": round(queued * 1000, 1),
                    "total_ms": round((queued + elapsed) * 1000, 1),
                },
            )
        return response


def queue_seconds(request, *, now: float) -> float:
    """How long the request waited before Django: since a trusted proxy received it
    (``X-Request-Start``, only behind ``TRUSTED_PROXIES``: a client could send anything) or since
    gunicorn accepted its connection, whichever is earlier. 0 when neither says."""
    names = QUEUE_START_HEADERS + ((PROXY_QUEUE_START_HEADER,) if settings.TRUSTED_PROXIES else ())
    starts = [start for name in names if (start := _epoch_seconds(request.META.get(name))) is not None]
    if not starts:
        return 0.0
    # Clocks of other machines (a proxy) may be a little ahead: never a negative wait.
    return max(0.0, now - min(starts))


def _epoch_seconds(value: str | None) -> float | None:
    """``t=1700000000.123`` (seconds, nginx's ``$msec``), or milli- or microseconds since the epoch
    (``t=1700000000123``, ``t=1700000000123456``), with or without ``t=``."""
    if not value:
        return None
    try:
        number = float(value.strip().removeprefix("t="))
    except ValueError:
        return None
    for scale in (1, 1e3, 1e6):
        seconds = number / scale
        if 1e9 < seconds < 1e10:  # 2001..2286: a timestamp in this unit
            return seconds
    return None


def client_ip_address(request) -> str | None:
    """The client's address, for login lock-outs (``AXES_CLIENT_IP_CALLABLE``).

    Behind ``settings.TRUSTED_PROXIES`` reverse proxies every request comes from the nearest proxy,
    so one lock-out would shut out everybody: the client is then the entry the outermost trusted
    proxy added to X-Forwarded-For, counted from the right (entries further left are whatever the
    client chose to send).
    """
    hops = settings.TRUSTED_PROXIES
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")
