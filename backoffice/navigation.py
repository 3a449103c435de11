"""The sidebar, the environment badge and the command palette's search. The apps register their
sidebar entries and searches (``core.registry``); the site adds its own groups (the dashboard,
administration) and shows each item only to users who may open it."""

from django.conf import settings
from django.urls import reverse, reverse_lazy

from core.registry import command_searches, may_view, sidebar_items

ENVIRONMENT_COLOURS = {"Development": "info", "Staging": "warning", "Production": "danger"}


def open_tenant_name(request):
    """Under the site name: which shop is open."""
    tenant = getattr(request, "tenant", None)
    return f"Shop: {tenant}" if tenant is not None else "Catalogue, stock and orders"


def environment_badge(request):
    name = settings.ENVIRONMENT_NAME
    return [name, ENVIRONMENT_COLOURS.get(name, "info")]


def _item(title, icon, model):
    app_label, name = model.split(".")
    return {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(f"admin:{app_label}_{name}_changelist"),
        "permission": lambda request: may_view(request.user, model),
    }


def sidebar_navigation(request):
    """The sidebar's groups with only the items this user may open; a group left empty is dropped.

    Each item's permission is asked here once, its link resolved once, and the open item marked as
    Unfold would mark it: Unfold would ask the permission again, and resolve every lazy link (and
    the dashboard's) each time it reads it, about 80 ``reverse()`` calls a page."""
    index = reverse("admin:index")
    groups = []
    for group in _all_groups():
        items = [
            _shown(item, request.path, index)
            for item in group["items"]
            if "permission" not in item or item["permission"](request)
        ]
        if items:
            groups.append({**group, "items": items})
    return groups


def _shown(item, path: str, index: str) -> dict:
    link = str(item["link"])
    # Unfold's rule (UnfoldAdminSite._get_is_active): the dashboard on its own page, any other item
    # on every page under its link.
    active = path == link if link == index else link in path
    shown = {key: value for key, value in item.items() if key != "permission"}
    return {**shown, "link": link, "active": active}


def _registered_groups() -> list[dict]:
    groups: dict[str, list] = {}
    for entry in sidebar_items():
        groups.setdefault(entry.group, []).append(_item(entry.title, entry.icon, entry.model))
    return [{"title": title, "separator": True, "items": items} for title, items in groups.items()]


def _all_groups():
    return [
        {
            "title": "Overview",
            "items": [{"title": "Dashboard", "icon": "dashboard", "link": reverse_lazy("admin:index")}],
        },
        *_registered_groups(),
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
                    "link": reverse_lazy("admin:backoffice_tenant_changelist"),
                    "permission": lambda request: request.user.is_superuser,
                },
            ],
        },
    ]


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
