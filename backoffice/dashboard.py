"""The admin's front page: the sections the apps register (``core.registry``), those of the user's
work, each from a few aggregate queries cached per shop and section.

Figures are cached per section for ``settings.DASHBOARD_CACHE_SECONDS``; the page says when they were
computed. A section shows to people who may open the list its cards link to, when its figures are
their work (its ``work_permission``: sales for people who work on orders, stock for people who keep
the stock) or when they read everything (``audit.view_auditentry``): viewing a list alone isn't
enough, operations may read orders and support may read products, but those figures aren't their work.
"""

from django.conf import settings
from django.core.cache import cache

from audit.sealing import latest_check
from core.registry import DashboardSection, dashboard_sections
from core.tenancy import current_tenant

EVERYTHING_READER = "audit.view_auditentry"
CACHE_KEY = "dashboard:v1:{tenant}:{section}"


def visible_sections(user) -> list[DashboardSection]:
    return [
        section
        for section in dashboard_sections()
        if user.has_perm(section.view_permission)
        and (user.has_perm(section.work_permission) or user.has_perm(EVERYTHING_READER))
    ]


def section_figures(section: DashboardSection) -> dict:
    """The section's figures from the cache, computed and cached when missing (or the cache is down)."""
    key = CACHE_KEY.format(tenant=current_tenant().pk, section=section.name)
    figures = cache.get(key)
    if figures is None:
        figures = section.figures()
        cache.set(key, figures, settings.DASHBOARD_CACHE_SECONDS)
    return figures


def cached_figures_forget() -> None:
    """Drop the open shop's cached figures, so the next visit computes them (warming a worker renders
    the dashboard, and the figures of that moment must not stand in for the next minute's)."""
    tenant = current_tenant().pk
    keys = [CACHE_KEY.format(tenant=tenant, section=section.name) for section in dashboard_sections()]
    cache.delete_many(keys)


def refresh_text(seconds: int) -> str:
    if seconds <= 0:
        return "computed for each visit"
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "refreshed every minute" if minutes == 1 else f"refreshed every {minutes} minutes"
    return f"refreshed every {seconds} seconds"


def dashboard_callback(request, context):
    sections = visible_sections(request.user)
    figures = {section.name: section_figures(section) for section in sections}
    dashboard = {
        "sections": [section.name for section in sections],
        "refresh": refresh_text(settings.DASHBOARD_CACHE_SECONDS),
        "panels": [],
    }
    if figures:
        # Sections may have been cached at different moments: the oldest says how stale the page is.
        dashboard["as_of"] = min(f["computed_at"] for f in figures.values())
    for section in sections:
        dashboard[section.name] = section.context(figures[section.name], user=request.user)
        dashboard["panels"].append({"template": section.template, "context": dashboard[section.name]})
    if request.user.is_superuser:
        dashboard["warnings"] = trail_warnings()
    context["dashboard"] = dashboard
    context["title"] = "Dashboard"
    return context


def trail_warnings() -> list[str]:
    """The open shop's audit trail failed its last verification: superusers hear of it first."""
    check = latest_check()
    if check is None or check.ok:
        return []
    return [f"The audit trail failed verification at {check.checked_at:%Y-%m-%d %H:%M}: {check.message}"]
