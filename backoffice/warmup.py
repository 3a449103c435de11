"""Warm a fresh worker before it serves anyone: the first request of a new process used to pay for
compiling the admin's templates, loading template tag libraries, filling the URL resolver and the
per-process caches (content types, the default shop): 180-200 ms against about 60 ms warm.

``warm_up()`` requests the login page through every middleware, then renders the dashboard and every
registered list once, as a superuser that exists only in memory (no session, nothing written: the
views only read). gunicorn calls it through the
``post_worker_init`` hook below, in each worker before it accepts connections: ./dev serve's
``backoffice/gunicorn.conf.py`` does, or on its own:

    gunicorn backoffice.wsgi --config python:backoffice.warmup

The management command ``warm_up`` runs it by hand and says what it took.
"""

import logging
import time

from django.conf import settings

logger = logging.getLogger("backoffice.warmup")


def warm_up() -> dict[str, float]:
    """Render the admin's front page and every list once; returns the seconds each took. A page that
    fails is logged and skipped: warming must never keep a worker from starting."""
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.db import connections
    from django.test import Client, RequestFactory

    from backoffice.dashboard import cached_figures_forget
    from core.summaries import summaries_current
    from core.tenancy import activate, default_tenant

    try:
        summaries_current()  # logs a warning when the dashboard's days are in another zone
    except Exception:
        logger.warning("Could not read the summary tables' time zone", exc_info=True)
    user = get_user_model()(username="warm-up", is_active=True, is_staff=True, is_superuser=True)
    factory = RequestFactory()
    timings = {}

    def render(name, path, view):
        request = factory.get(path)
        request.user = user
        request.session = {}
        request._messages = FallbackStorage(request)
        started = time.perf_counter()
        try:
            response = view(request)
            if hasattr(response, "render"):
                response.render()
        except Exception:
            logger.warning("Warm-up of %s failed", name, exc_info=True)
        timings[name] = time.perf_counter() - started

    def through_middleware(request):
        # The whole request path once (every middleware, the session engine, the login page): a
        # signed-out GET, which writes nothing.
        return Client(HTTP_HOST=_allowed_host()).get(request.path)

    try:
        render("login page", "/admin/login/", through_middleware)
        with activate(default_tenant()):
            render("dashboard", "/admin/", admin.site.index)
            cached_figures_forget()
            for model, model_admin in admin.site._registry.items():
                opts = model._meta
                render(
                    f"{opts.app_label}.{opts.model_name}",
                    f"/admin/{opts.app_label}/{opts.model_name}/",
                    model_admin.changelist_view,
                )
    except Exception:
        logger.warning("Warm-up stopped", exc_info=True)
    finally:
        # Opened outside a request, so no request's clean-up closes them (a caller's transaction stays).
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()
    return timings


def _allowed_host() -> str:
    """A host this site answers: the test client's own ("testserver") is refused in production, which
    logged a DisallowedHost error with its traceback at every worker's start."""
    for host in settings.ALLOWED_HOSTS:
        if host != "*":
            return host.lstrip(".")  # ".example.com" also allows example.com itself
    return "localhost"


def post_worker_init(worker):
    """gunicorn's hook: the worker has loaded the application and is about to accept connections."""
    started = time.perf_counter()
    timings = warm_up()
    logger.info(
        "Worker %s warmed up in %.2f s (%d pages)", worker.pid, time.perf_counter() - started, len(timings)
    )
