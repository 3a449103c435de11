"""The admin's look for Unfold: its colours and the ``UNFOLD`` setting (site names, styles, search,
navigation)."""

from django.templatetags.static import static

# Unfold's purple, with a lighter 500: dark mode writes links, the active menu item and tab in it,
# and the default one read at 3.5:1 on the dark background (4.5:1 is the floor for text).
PRIMARY = {
    "50": "oklch(97.7% .014 308.299)",
    "100": "oklch(94.6% .033 307.174)",
    "200": "oklch(90.2% .063 306.703)",
    "300": "oklch(82.7% .119 306.383)",
    "400": "oklch(74% .18 305.5)",
    "500": "oklch(70% .2 304)",
    "600": "oklch(55.8% .288 302.321)",
    "700": "oklch(49.6% .265 301.924)",
    "800": "oklch(43.8% .218 303.724)",
    "900": "oklch(38.1% .176 304.987)",
    "950": "oklch(29.1% .149 302.717)",
}

UNFOLD = {
    "SITE_TITLE": "Backoffice",
    "SITE_HEADER": "Backoffice",
    "SITE_SUBHEADER": "backoffice.navigation.open_tenant_name",
    "SITE_SYMBOL": "storefront",
    "SITE_FAVICONS": [
        {"rel": "icon", "type": "image/svg+xml", "href": lambda request: static("backoffice/favicon.svg")}
    ],
    "STYLES": [lambda request: static("backoffice/admin.css")],
    "SCRIPTS": [lambda request: static("backoffice/admin.js")],
    "COLORS": {"primary": PRIMARY},  # a lighter 500, readable as text in dark mode
    "SITE_URL": None,
    "LOGIN": {"form": "backoffice.forms.LoginForm"},
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "backoffice.navigation.environment_badge",
    "DASHBOARD_CALLBACK": "backoffice.dashboard.dashboard_callback",
    # Products (SKU, name), orders (number), customers (e-mail, name): indexed and bounded searches
    # instead of Unfold's walk through every admin's search.
    "COMMAND": {"search_models": False, "search_callback": "backoffice.navigation.command_search"},
    "GLOBAL_CALLBACK": "backoffice.navigation.page_templates",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "backoffice.navigation.sidebar_navigation",
    },
}
