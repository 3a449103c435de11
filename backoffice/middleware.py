import logging
import time

from django.conf import settings

logger = logging.getLogger("backoffice.performance")


class ResponseTimeMiddleware:
    """Adds ``X-Response-Time`` to every response and logs a warning for slow requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        response["X-Response-Time"] = f"{elapsed * 1000:.1f}ms"
        if elapsed >= settings.SLOW_REQUEST_SECONDS:
            logger.warning(
                "Slow request: %s %s -> %s in %.0f ms",
                request.method,
                request.get_full_path(),
                response.status_code,
                elapsed * 1000,
                extra={
                    "method": request.method,
                    "path": request.get_full_path(),
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
        return response


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
