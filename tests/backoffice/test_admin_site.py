"""The admin site gives every page the context Unfold's site would (site names, colours, the open
shop, the sidebar of the user's own items...), built more cheaply: the same values, for each role and
each shop, one after the other in the same process (what it keeps between requests is no one's)."""

import pytest
from django.contrib import admin
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.functional import empty
from unfold.sites import UnfoldAdminSite

from backoffice.models import Tenant
from core.tenancy import activate

pytestmark = pytest.mark.django_db

ROLES = ["superuser", "ops_user", "support_user", "auditor"]
PAGES = [
    "/admin/",
    "admin:inventory_product_changelist",
    "admin:orders_order_changelist",
    "admin:auth_user_changelist",
]


def unfolds_site() -> UnfoldAdminSite:
    site = UnfoldAdminSite(name=admin.site.name)
    site._registry = admin.site._registry
    return site


def comparable(context: dict) -> dict:
    """The values as pages read them: the app list built, the recent-actions query run."""
    return {
        key: list(value) if isinstance(value, QuerySet) or key == "available_apps" else value
        for key, value in context.items()
    }


def sidebar_titles(context: dict) -> list[str]:
    return [item["title"] for group in context["sidebar_navigation"] for item in group["items"]]


def test_each_role_and_shop_gets_the_context_unfolds_site_gives(request, client_for, auditor):
    acme = Tenant.objects.create(name="Acme Outfitters", subdomain="acme")
    acme.members.add(auditor)
    theirs = unfolds_site()
    seen = {}
    for role in ROLES:
        user = request.getfixturevalue(role)
        for host, shop in [("localhost", None), ("acme.localhost", acme)]:
            for page in PAGES:
                path = page if page.startswith("/") else reverse(page)
                response = client_for(user).get(path, HTTP_HOST=host)
                if response.status_code != 200:
                    continue  # not this role's page, or not its shop
                page_request = response.wsgi_request
                with activate(shop) if shop else activate(page_request.tenant):
                    ours = admin.site.each_context(page_request)
                    expected = theirs.each_context(page_request)
                    assert comparable(ours) == comparable(expected), (role, host, path)
                    assert response.context["sidebar_navigation"] == expected["sidebar_navigation"]
                seen[(role, host)] = (ours["site_subheader"], sidebar_titles(ours))
    # What differs between users and shops did differ: nothing was kept from an earlier request.
    assert seen[("superuser", "acme.localhost")][0] == "Shop: Acme Outfitters"
    assert seen[("superuser", "localhost")][0] != seen[("superuser", "acme.localhost")][0]
    assert "Shops" in seen[("superuser", "localhost")][1]
    assert "Shops" not in seen[("ops_user", "localhost")][1]
    assert seen[("ops_user", "localhost")][1] != seen[("support_user", "localhost")][1]
    assert seen[("auditor", "acme.localhost")][0] == "Shop: Acme Outfitters"


def test_pages_read_the_app_list_only_when_they_show_it(rf, superuser):
    page_request = rf.get("/admin/")
    page_request.user = superuser
    available = admin.site.each_context(page_request)["available_apps"]
    assert available._wrapped is empty  # not built yet
    built = admin.site.get_app_list(page_request)
    assert [app["app_label"] for app in available] == [app["app_label"] for app in built]
