"""The sidebar and the environment badge. Each item shows only to users who may open it."""

from django.conf import settings
from django.urls import reverse_lazy

ENVIRONMENT_COLOURS = {"Development": "info", "Staging": "warning", "Production": "danger"}


def environment_badge(request):
    name = settings.ENVIRONMENT_NAME
    return [name, ENVIRONMENT_COLOURS.get(name, "info")]


def _can_view(app_label, model):
    def check(request):
        user = request.user
        return user.has_perm(f"{app_label}.view_{model}") or user.has_perm(f"{app_label}.change_{model}")

    return check


def _item(title, icon, app_label, model):
    return {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(f"admin:{app_label}_{model}_changelist"),
        "permission": _can_view(app_label, model),
    }


def sidebar_navigation(request):
    return [
        {
            "title": "Overview",
            "items": [{"title": "Dashboard", "icon": "dashboard", "link": reverse_lazy("admin:index")}],
        },
        {
            "title": "Catalogue",
            "separator": True,
            "items": [
                _item("Products", "inventory_2", "inventory", "product"),
                _item("Categories", "category", "inventory", "category"),
                _item("Stock movements", "swap_vert", "inventory", "stockmovement"),
                _item("Import jobs", "upload_file", "inventory", "importjob"),
            ],
        },
        {
            "title": "Orders",
            "separator": True,
            "items": [
                _item("Orders", "receipt_long", "orders", "order"),
                _item("Order lines", "list_alt", "orders", "orderitem"),
                _item("Customers", "group", "orders", "customer"),
            ],
        },
        {
            "title": "Audit",
            "separator": True,
            "items": [
                _item("Audit log", "history", "audit", "auditentry"),
                _item("Change sets", "layers", "audit", "changeset"),
            ],
        },
        {
            "title": "Administration",
            "separator": True,
            "items": [
                _item("Users", "person", "auth", "user"),
                _item("Groups", "admin_panel_settings", "auth", "group"),
                _item("Login lock-outs", "lock", "axes", "accessattempt"),
            ],
        },
    ]
