import logging
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.csp import build_policy
from django.utils.html import escape
from django.views import defaults

logger = logging.getLogger("backoffice.performance")
outage_logger = logging.getLogger("backoffice.outage")

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


# --- The database away: 503, one log line, connection attempts backed off ----------------------------
# SQLSTATEs meaning "no database to talk to" rather than "this statement failed": connection
# exceptions (class 08), the server shutting down or starting up, no connection slots left.
UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says the database can't be reached, as opposed to a
    query that failed (a deadlock, a timeout, a constraint): those stay 500s with their traceback."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, OperationalError | InterfaceError):
            cause = error.__cause__ or error
            sqlstate = getattr(cause, "sqlstate", None)
            # No SQLSTATE: the driver gave up before the server answered (refused, gone, closed).
            return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


class DatabaseBreaker:
    """This process's view of the database's availability (a circuit breaker).

    After a request finds the database away, requests are answered 503 at once, without a
    connection attempt, for a short interval that doubles with each failed attempt up to a ceiling
    (``DATABASE_RETRY_SECONDS``: first and longest). When the interval is over, one request tries
    the database for everybody; the others keep getting 503 until it has its answer. The outage
    is logged once when it starts and once when it ends.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.down_since: float | None = None
        self.attempts = 0
        self.retry_at = 0.0
        self.refused = 0

    @property
    def is_open(self) -> bool:
        return self.down_since is not None

    def _interval(self) -> float:
        first, longest = settings.DATABASE_RETRY_SECONDS
        return min(longest, first * 2 ** max(0, self.attempts - 1))

    def may_try(self) -> bool:
        """Whether this request may use the database; False: answer 503 without trying."""
        if self.down_since is None:
            return True
        with self._lock:
            if self.down_since is None:
                return True
            now = time.monotonic()
            if now >= self.retry_at:
                self.retry_at = now + self._interval()  # the others wait for this attempt
                return True
            self.refused += 1
            return False

    def failed(self, error: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            self.attempts += 1
            if self.down_since is None:
                self.down_since, self.refused = now, 0
                outage_logger.error(
                    "Database unavailable: answering 503 until it is back (%s: %s)",
                    type(error).__name__,
                    str(error).strip().splitlines()[0][:300] if str(error).strip() else "",
                    extra={"outage": "started"},
                )
            self.refused += 1
            self.retry_at = now + self._interval()

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted = time.monotonic() - self.down_since
            outage_logger.warning(
                "Database back after %.1f s: %d request(s) were answered 503",
                lasted,
                self.refused,
                extra={"outage": "ended", "outage_seconds": round(lasted, 2), "refused": self.refused},
            )
            self.reset()


database_breaker = DatabaseBreaker()

# Answered even while the database is away: the health check says so itself (in JSON).
BREAKER_FREE_PATHS = {"/healthz"}


class DatabaseOutageMiddleware:
    """While the database is away, every page answers 503 with ``Retry-After`` and a short page in
    the admin's look, instead of each request trying to connect and failing with a 500.

    Sits after WhiteNoise (static files, the page's CSS among them, need no database) and before
    everything that reads the session. A request that finds the database gone half-way is turned
    into the same 503 by ``server_error`` (the project's ``handler500``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in BREAKER_FREE_PATHS:
            return self.get_response(request)
        if not database_breaker.may_try():
            return database_unavailable_response(request)
        if database_breaker.is_open:
            # This request tries the database for everybody: a cheap query first, so that a failure
            # ends here rather than inside a half-rendered page.
            database = connections[DEFAULT_DB_ALIAS]
            try:
                database.close_if_unusable_or_obsolete()  # the connection the outage broke
                with database.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except (OperationalError, InterfaceError) as error:
                if not is_database_unavailable(error):
                    raise
                database.close_if_unusable_or_obsolete()
                database_breaker.failed(error)
                return database_unavailable_response(request)
            database_breaker.succeeded()
        return self.get_response(request)


def server_error(request, *args, **kwargs):
    """``handler500``: a request that lost the database half-way gets the outage page (503, logged
    once per outage by the breaker, not a traceback each); any other error Django's 500 page."""
    import sys

    error = sys.exc_info()[1]
    if is_database_unavailable(error):
        database_breaker.failed(error)
        return database_unavailable_response(request)
    return defaults.server_error(request, *args, **kwargs)


_outage_pages: dict[bool, bytes] = {}
PLAIN_OUTAGE_PAGE = (
    b"<!DOCTYPE html><title>Temporarily unavailable</title><p>The database isn't answering, so no page "
    b"can be shown right now. Please try again in a moment.</p>"
)
RETRY_URL = "__retry_url__"  # the page is rendered once; each answer puts its own URL here


def database_unavailable_response(request) -> HttpResponse:
    """503 with ``Retry-After`` and the outage page, built without the database (no session, no
    user, no site context) and rendered once per process. The page reloads itself on GET."""
    retry_after = settings.DATABASE_OUTAGE_RETRY_AFTER
    reload = request.method in ("GET", "HEAD")
    if reload not in _outage_pages:
        context = {**_site_look(), "retry_after": retry_after, "reload": reload, "retry_url": RETRY_URL}
        try:
            _outage_pages[reload] = render_to_string("database_unavailable.html", context).encode()
        except Exception:
            outage_logger.exception("The outage page can't be rendered: answering plain text")
            _outage_pages[reload] = PLAIN_OUTAGE_PAGE
    page = _outage_pages[reload].replace(RETRY_URL.encode(), escape(request.get_full_path()).encode())
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    # The middleware that sets these runs later in the chain than this answer.
    response["X-Frame-Options"] = "DENY"
    if settings.SECURE_CSP:
        response["Content-Security-Policy"] = build_policy(settings.SECURE_CSP)
    # Logged once per outage by the breaker: Django would log every answer (with the traceback, for
    # a request that lost the database half-way).
    response._has_been_logged = True
    return response


def _site_look() -> dict:
    """The admin's title, colours and icon, from Unfold's settings alone (no request, no database)."""
    from django.contrib import admin

    site = admin.site
    look = {"title": "Temporarily unavailable", "site_title": settings.UNFOLD.get("SITE_TITLE", "")}
    try:
        look |= {
            "colors": site._get_colors("COLORS", None),
            "border_radius": site._get_config("BORDER_RADIUS", None),
            "site_favicons": site._get_favicons("SITE_FAVICONS", None),
        }
    except Exception:  # an Unfold that changed its helpers: the page still renders, in default colours
        outage_logger.debug("Unfold's colours unavailable for the outage page", exc_info=True)
    return look
