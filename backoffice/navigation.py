"""The sidebar and the environment badge. Each item shows only to users who may open it."""

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse, reverse_lazy
from unfold.dataclasses import SearchResult

from backoffice.lookups import TrigramContains

ENVIRONMENT_COLOURS = {"Development": "info", "Staging": "warning", "Production": "danger"}


def open_tenant_name(request):
    """Under the site name: which shop is open."""
    tenant = getattr(request, "tenant", None)
    return f"Shop: {tenant}" if tenant is not None else "Catalogue, stock and orders"


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
    """The sidebar's groups with only the items this user may open; a group left empty is dropped."""
    groups = []
    for group in _all_groups():
        items = [item for item in group["items"] if "permission" not in item or item["permission"](request)]
        if items:
            groups.append({**group, "items": items})
    return groups


def _all_groups():
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
                _item("Payments", "payments", "orders", "payment"),
                _item("Customers", "group", "orders", "customer"),
            ],
        },
        {
            "title": "E-mail",
            "separator": True,
            "items": [_item("Outbox", "outgoing_mail", "notifications", "message")],
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
                {
                    "title": "Shops",
                    "icon": "store",
                    "link": reverse_lazy("admin:backoffice_tenant_changelist"),
                    "permission": lambda request: request.user.is_superuser,
                },
            ],
        },
    ]


# --- The command palette's search (UNFOLD["COMMAND"]["search_callback"]) ---------------------------
SEARCH_LIMIT = 10
# Below this length a "contains" match can't use the trigram indexes (it would scan the table).
CONTAINS_MIN_LENGTH = 3


def _result(obj, description, icon):
    opts = obj._meta
    return SearchResult(
        title=str(obj),
        description=description,
        link=reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
        icon=icon,
    )


def _matching(queryset, term, *, prefix: dict, contains: list[str]):
    """Rows whose ``prefix`` fields start with the term (B-tree pattern indexes) or whose ``contains``
    fields hold it (trigram indexes; only from ``CONTAINS_MIN_LENGTH`` characters)."""
    condition = Q()
    for field, transform in prefix.items():
        condition |= Q(**{f"{field}__startswith": transform(term)})
    if len(term) >= CONTAINS_MIN_LENGTH:
        for field in contains:
            condition |= Q(TrigramContains(F(field), term))
    # No ORDER BY: sorting by name would walk the name index past every non-match.
    return queryset.order_by().filter(condition)


def _search_products(term):
    from inventory.models import Product

    products = _matching(Product.objects.all(), term, prefix={"sku": str.upper}, contains=["name"])
    found = sorted(products.only("pk", "name", "sku", "stock")[:SEARCH_LIMIT], key=lambda p: p.name)
    return [_result(p, f"Product · {p.stock} in stock", "inventory_2") for p in found]


def _search_orders(term):
    from orders.models import Order
    from orders.selectors import normalise_order_number

    number = normalise_order_number(term)
    if not number:
        return []
    found = Order.objects.select_related("customer").filter(number=number)[:SEARCH_LIMIT]
    return [
        _result(o, f"Order · {o.get_status_display()} · {o.customer.email}", "receipt_long") for o in found
    ]


def _search_customers(term):
    from orders.models import Customer

    customers = _matching(Customer.objects.all(), term, prefix={"email": str.lower}, contains=["name"])
    found = sorted(customers[:SEARCH_LIMIT], key=lambda c: c.email)
    return [_result(c, "Customer", "person") for c in found]


SEARCHES = [
    ("inventory", "product", _search_products),
    ("orders", "order", _search_orders),
    ("orders", "customer", _search_customers),
]


def command_search(request, search_term):
    """Products by SKU (prefix) or name, orders by number, customers by e-mail (prefix) or name.

    Each on an index, at most ``SEARCH_LIMIT`` rows per kind, and only the kinds the user may view.
    Unfold's own model search is off: it would run every admin's search and read every match.
    """
    term = search_term.strip()
    if not term:
        return []
    results = []
    for app_label, model, search in SEARCHES:
        if _can_view(app_label, model)(request):
            results.extend(search(term))
    return results
