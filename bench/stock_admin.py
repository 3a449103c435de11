"""The stock baseline of bench/admin_lists: plain ``django.contrib.admin`` ModelAdmins on their own site
at /stock/, rendered by Django's own admin templates (a template engine that sees only those, since
Unfold's templates shadow Django's of the same names).

Each stock admin shows the same rows as ours: the same queryset (our admin's ``get_queryset``, with its
annotations), columns, search fields, ordering and page size, and Django's default filters for the same
fields. So the difference between the two is what rendering costs, not what the database does.
"""

from pathlib import Path

STOCK_ENGINE = "stock"


def install_stock_engine():
    """A second template engine with only Django's admin templates, used by the stock site's pages."""
    import django.contrib.admin
    from django.conf import settings
    from django.template import engines

    ours = settings.TEMPLATES[0]
    settings.TEMPLATES = [
        *settings.TEMPLATES,
        {
            "NAME": STOCK_ENGINE,
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [Path(django.contrib.admin.__file__).parent / "templates"],
            "APP_DIRS": False,
            "OPTIONS": {"context_processors": ours["OPTIONS"]["context_processors"]},
        },
    ]
    engines.__dict__.pop("templates", None)  # EngineHandler caches the settings it read
    engines._engines = {}


def delegated_column(model_admin, name):
    """A list column that asks ``model_admin`` (our admin instance) for the cell, with the column's
    title and sort field: our columns may use their admin's helpers."""
    method = getattr(type(model_admin), name)

    def column(self, obj):
        return getattr(model_admin, name)(obj)

    for attr in ("short_description", "admin_order_field", "boolean", "empty_value_display"):
        if hasattr(method, attr):
            setattr(column, attr, getattr(method, attr))
    return column


def stock_site(our_site):
    """An AdminSite named "stock" with a plain ModelAdmin for every model ``our_site`` registers that
    the benchmark lists."""
    from django.contrib import admin
    from django.contrib.admin import SimpleListFilter
    from django.template.response import TemplateResponse

    class StockSite(admin.AdminSite):
        def index(self, request, extra_context=None):
            return _stock(super().index(request, extra_context))

    site = StockSite(name="stock")

    def plain_filters(model_admin):
        """Django's own filter for each field filter; a plain SimpleListFilter for Unfold's custom ones."""
        filters = []
        for entry in model_admin.list_filter:
            if isinstance(entry, str):
                filters.append(entry)
            elif isinstance(entry, tuple):
                filters.append(entry[0])
            elif isinstance(entry, type) and issubclass(entry, SimpleListFilter):
                filters.append(
                    type(
                        f"Plain{entry.__name__}",
                        (SimpleListFilter,),
                        {
                            "title": entry.title,
                            "parameter_name": entry.parameter_name,
                            "lookups": entry.lookups,
                            "queryset": entry.queryset,
                        },
                    )
                )
        return filters

    def stock(model, ours):
        columns = {
            name: delegated_column(ours, name)
            for name in ours.list_display
            if isinstance(name, str) and hasattr(type(ours), name) and name != "action_checkbox"
        }

        def get_queryset(self, request):
            return ours.get_queryset(request)

        def changelist_view(self, request, extra_context=None):
            return _stock(admin.ModelAdmin.changelist_view(self, request, extra_context))

        attrs = {
            "list_display": [name for name in ours.list_display if name != "action_checkbox"],
            "list_display_links": ours.list_display_links,
            "list_select_related": ours.list_select_related,
            "list_filter": plain_filters(ours),
            "search_fields": ours.search_fields,
            "ordering": ours.ordering,
            "date_hierarchy": ours.date_hierarchy,
            "list_per_page": ours.list_per_page,
            "get_queryset": get_queryset,
            "changelist_view": changelist_view,
            **columns,
        }
        site.register(model, type(f"Stock{model.__name__}Admin", (admin.ModelAdmin,), attrs))

    def _stock(response):
        if isinstance(response, TemplateResponse):
            response.using = STOCK_ENGINE
        return response

    from audit.models import AuditEntry
    from inventory.models import Category, Product, StockMovement
    from orders.models import Customer, Order, OrderItem

    for model in (Category, Product, Customer, Order, OrderItem, AuditEntry, StockMovement):
        stock(model, our_site._registry[model])
    return site
