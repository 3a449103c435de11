"""The sidebar (its items and its template), the environment badge and the command palette's search.
The apps register their sidebar entries and searches (``core.registry``); the site adds its own groups
(the dashboard, administration) and shows each item only to users who may open it."""

from functools import cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from core.registry import command_searches, may_view, sidebar_items

ENVIRONMENT_COLOURS = {"Development": "info", "Staging": "warning", "Production": "danger"}


def open_tenant_name(request):
    """Under the site name: which shop is open."""
    tenant = getattr(request, "tenant", None)
    return f"Shop: {tenant}" if tenant is not None else "Catalogue, stock and orders"


def environment_badge(request):
    name = settings.ENVIRONMENT_NAME
    return [name, ENVIRONMENT_COLOURS.get(name, "info")]


def page_templates(request):
    """Unfold's hook for the templates of its layout (``GLOBAL_CALLBACK``; its admin/nav_sidebar.html
    includes ``templates.navigation``): the sidebar of admin/sidebar_navigation.html, Unfold's markup
    for the items ``sidebar_navigation`` gives."""
    return {"templates": {"navigation": "admin/sidebar_navigation.html"}}


def _item(title, icon, model):
    app_label, name = model.split(".")
    return {
        "title": title,
        "icon": icon,
        "link": reverse(f"admin:{app_label}_{name}_changelist"),
        "permission": lambda request: may_view(request.user, model),
    }


def sidebar_navigation(request):
    """The sidebar's groups with only the items this user may open; a group left empty is dropped.

    The groups and their links are built once per process (they change with the code, not the
    request); each item's permission is asked here, for this request's user, and the open item marked
    as Unfold would mark it."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    index, all_groups = _all_groups(get_script_prefix(), urlconf, tuple(sidebar_items()))
    groups = []
    for group in all_groups:
        items = [
            _shown(item, request.path, index)
            for item in group["items"]
            if "permission" not in item or item["permission"](request)
        ]
        if items:
            groups.append({**group, "items": items})
    return groups


def _shown(item, path: str, index: str) -> dict:
    link = item["link"]
    # Unfold's rule (UnfoldAdminSite._get_is_active): the dashboard on its own page, any other item
    # on every page under its link.
    active = path == link if link == index else link in path
    shown = {key: value for key, value in item.items() if key != "permission"}
    return {**shown, "active": active}


def _registered_groups(entries) -> list[dict]:
    groups: dict[str, list] = {}
    for entry in entries:
        groups.setdefault(entry.group, []).append(_item(entry.title, entry.icon, entry.model))
    return [{"title": title, "separator": True, "items": items} for title, items in groups.items()]


@cache
def _all_groups(script_prefix: str, urlconf, entries: tuple) -> tuple[str, list[dict]]:
    """The dashboard's link and every group with its links resolved (for the URL prefix, the URL
    configuration and the apps' registered items they were built with): the same for every request
    and user. Callers copy what they change."""
    index = reverse("admin:index")
    groups = [
        {
            "title": "Overview",
            "separator": False,
            "items": [{"title": "Dashboard", "icon": "dashboard", "link": index}],
        },
        *_registered_groups(entries),
        {
            "title": "Administration",
            "separator": True,
            "items": [
                _item("Users", "person", "auth.user"),
                _item("Groups", "admin_panel_settings", "auth.group"),
                _item("Login lock-outs", "lock", "axes.accessattempt"),
                {
                    "title": "Shops",
                    "icon": "store",
                    "link": reverse("admin:backoffice_tenant_changelist"),
                    "permission": lambda request: request.user.is_superuser,
                },
            ],
        },
    ]
    return index, groups


def command_search(request, search_term):
    """What the apps' registered searches find (products by SKU or name, orders by number, customers
    by e-mail or name...), each on an index with a few rows at most, for the kinds the user may view.
    Unfold's own model search is off: it would run every admin's search and read every match."""
    term = search_term.strip()
    if not term:
        return []
    results = []
    for search in command_searches():
        if may_view(request.user, search.model):
            results.extend(search.search(term))
    return results
