"""The database away: every page answers 503 with ``Retry-After`` and a short page in the admin's look,
the outage is logged once (not a traceback per request), and each process backs its connection
attempts off (``DatabaseBreaker``) so a recovering server isn't flooded."""

import logging
import sys
import threading
import time

from django.conf import settings
from django.contrib import admin
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.csp import build_policy
from django.utils.html import escape
from django.views import defaults

outage_logger = logging.getLogger("backoffice.outage")

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
        seconds = settings.DATABASE_RETRY_SECONDS  # first and longest (one figure: both)
        first, longest = seconds[0], seconds[-1]
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
                "Database back after %.1f s: %d request(s) were answered 503, %d connection attempt(s)",
                lasted,
                self.refused,
                self.attempts + 1,
                extra={
                    "outage": "ended",
                    "outage_seconds": round(lasted, 2),
                    "refused": self.refused,
                    "attempts": self.attempts + 1,  # the failed ones and this one that succeeded
                },
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
