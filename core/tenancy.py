"""Tenants: one installation, several shops, isolated row by row.

The current tenant lives in a context variable. Every business model carries a ``tenant`` column and
its default manager filters by the current tenant, so code can't forget it; asking a tenant-scoped
model for rows while no tenant is active raises ``TenantNotActive`` instead of leaking another shop's
rows. The middleware activates the tenant named by the request's host; commands take ``--tenant``;
Celery tasks carry the tenant's id.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

_current: ContextVar = ContextVar("current_tenant", default=None)


class TenantNotActive(RuntimeError):
    pass


def current_tenant():
    tenant = _current.get()
    if tenant is None:
        raise TenantNotActive(
            "No tenant is active: tenant-scoped data can't be read or written outside a tenant "
            "(requests get theirs from the host; commands take --tenant; tasks carry it)."
        )
    return tenant


def current_tenant_id():
    """The default of every ``tenant`` column: rows are created in the active tenant."""
    return current_tenant().pk


@contextmanager
def activate(tenant):
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def tenant_model():
    """The shop model, named by ``settings.TENANT_MODEL`` as users are by ``AUTH_USER_MODEL``: the
    kernel defines tenancy, the site owns the table."""
    return apps.get_model(settings.TENANT_MODEL, require_ready=False)


def default_tenant():
    return tenant_model().objects.get(subdomain=settings.DEFAULT_TENANT_SUBDOMAIN)


class TenantManager(models.Manager):
    """The default manager of tenant-scoped models: only the active tenant's rows, or an error."""

    def get_queryset(self):
        return super().get_queryset().filter(tenant_id=current_tenant().pk)


def tenant_manager(queryset_class):
    """``objects = tenant_manager(ProductQuerySet)``: the queryset's methods, scoped to the tenant."""
    return TenantManager.from_queryset(queryset_class)()


def is_tenant_scoped(model) -> bool:
    return any(f.attname == "tenant_id" for f in model._meta.concrete_fields)


def tenant_key(*, db_index: bool = True):
    """The ``tenant`` column of a TenantScoped model.

    ``db_index=False`` for a model whose own indexes start with ``tenant`` (every list's index does):
    Django's one-column index on the key would then be upkeep on every write that no query needs
    (tests/core/test_indexes.py requires each key to stay covered by some index).
    """
    return models.ForeignKey(
        settings.TENANT_MODEL,
        on_delete=models.PROTECT,
        default=current_tenant_id,
        editable=False,
        related_name="+",
        db_index=db_index,
    )


class TenantScoped(models.Model):
    """Abstract base of every business model: a ``tenant`` column set from the active tenant."""

    tenant = tenant_key()

    # Related-object access (order.customer) and deletion cascades use the base manager: they start
    # from a row of the active tenant and stay in it, and must work without a filter.
    unscoped = models.Manager()

    class Meta:
        abstract = True
        default_manager_name = "objects"
        base_manager_name = "unscoped"

    # The tenant column is set from the active tenant, never by a form; uniqueness that includes it
    # (SKU per tenant, ...) is still checked before saving, so a clash is a form error, not a crash.
    def validate_unique(self, exclude=None):
        super().validate_unique(exclude=_keep_tenant(exclude))

    def validate_constraints(self, exclude=None):
        super().validate_constraints(exclude=_keep_tenant(exclude))


def _keep_tenant(exclude):
    return None if exclude is None else set(exclude) - {"tenant"}


# --- requests ------------------------------------------------------------------------------------------
def tenant_subdomain_for_host(host: str) -> str | None:
    """``acme.backoffice.example`` -> ``acme``; a bare host (no subdomain, ``www``) -> None."""
    host = host.split(":")[0].lower().rstrip(".")
    for base in settings.TENANT_BASE_DOMAINS:
        if host == base:
            return None
        if host.endswith("." + base):
            label = host[: -len(base) - 1].split(".")[0]
            return None if label == "www" else label
    return None  # 127.0.0.1, testserver, ...: the default tenant


TENANT_CACHE_SECONDS = 60


def tenant_by_subdomain(subdomain: str):
    """The tenant for a subdomain, cached briefly (every request asks; tenants rarely change, and a
    change clears the entry)."""
    key = f"tenant:{subdomain}"
    tenant = cache.get(key)
    if tenant is None:
        tenant = tenant_model().objects.filter(subdomain=subdomain).first()
        if tenant is not None:
            cache.set(key, tenant, TENANT_CACHE_SECONDS)
    return tenant


def memberships_of(user) -> set:
    """The ids of the shops ``user`` is a member of: read on every request (one query on the
    membership table's user index), so removing a member applies to that person's next request in
    every worker; a per-process cache would let them in for as long as it lives."""
    members = tenant_model().members.through.objects
    return set(members.filter(user_id=user.pk).values_list("tenant_id", flat=True))


def forget_tenant_caches(*, subdomains=()) -> None:
    cache.delete_many([f"tenant:{s}" for s in subdomains])


def may_open(user, tenant) -> bool:
    """Superusers open every tenant; staff open the tenants they are members of. Staff who belong to
    no tenant at all belong to the default one, so a single-shop install needs no memberships."""
    if user.is_superuser:
        return True
    memberships = memberships_of(user)
    if not memberships:
        return tenant.subdomain == settings.DEFAULT_TENANT_SUBDOMAIN
    return tenant.pk in memberships


def tenant_staff(tenant):
    """The users who work in ``tenant`` (a ``Q`` on users): its members and, in the default shop,
    staff who are members of no shop (as ``may_open`` lets them in). Superusers are of every shop and
    of none: they are not listed."""
    memberships = tenant_model().members.through.objects.filter(user_id=OuterRef("pk"))
    members = Q(Exists(memberships.filter(tenant_id=tenant.pk)))
    if tenant.subdomain == settings.DEFAULT_TENANT_SUBDOMAIN:
        members |= Q(~Exists(memberships), is_staff=True)
    return members


# Answer without a tenant (and without touching the database first): load balancers' health checks.
TENANT_FREE_PATHS = {"/healthz"}


class TenantMiddleware:
    """Opens the tenant named by the host's first label for the request.

    Unknown or inactive subdomain: 404 "Tenant not found", nothing else runs. A signed-in staff user
    who isn't a member of the tenant gets 403 (superusers may open every tenant).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path in TENANT_FREE_PATHS:
            return self.get_response(request)
        subdomain = tenant_subdomain_for_host(request.get_host()) or settings.DEFAULT_TENANT_SUBDOMAIN
        tenant = tenant_by_subdomain(subdomain)
        if tenant is None or not tenant.is_active:
            raise Http404("Tenant not found")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not may_open(user, tenant):
            raise PermissionDenied(f"You are not a member of {tenant}.")
        request.tenant = tenant
        with activate(tenant):
            return self.get_response(request)


def ensure_default_tenant(**kwargs):
    """The default tenant exists after every migrate (and after a test flush): a single-shop install
    needs no configuration."""
    tenant_model().objects.get_or_create(
        subdomain=settings.DEFAULT_TENANT_SUBDOMAIN, defaults={"name": settings.DEFAULT_TENANT_NAME}
    )


# --- commands -----------------------------------------------------------------------------------------
def add_tenant_argument(parser) -> None:
    parser.add_argument(
        "--tenant",
        default=None,
        help="Subdomain of the shop to work in (default: the default tenant).",
    )


def tenant_from_options(options):
    shops = tenant_model().objects
    subdomain = options.get("tenant") or settings.DEFAULT_TENANT_SUBDOMAIN
    tenant = shops.filter(subdomain=subdomain).first()
    if tenant is None:
        known = ", ".join(shops.order_by("subdomain").values_list("subdomain", flat=True))
        raise CommandError(f"No tenant with subdomain {subdomain!r} (known: {known or 'none'}).")
    return tenant
