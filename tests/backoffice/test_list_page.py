"""What a list page shows around its rows: the sidebar in Unfold's markup, and the filter panel, whose
filters are fetched from the list's filters/ URL when it is first shown and work as Unfold's did."""

import re
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse

from inventory.models import Product
from tests.backoffice.test_list_queries import changelist
from tests.backoffice.test_list_rendering import classes, words

pytestmark = pytest.mark.django_db


def panel_url(model, **params):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_filter_panel")
    return f"{url}?{urlencode(params)}" if params else url


def page_context(response) -> dict:
    return next(c for c in response.context if "sidebar_navigation" in c).flatten()


@pytest.mark.parametrize("user", ["superuser", "support_user"])
def test_the_sidebar_is_unfolds_markup(client_for, request, make_product, user):
    make_product()
    response = client_for(request.getfixturevalue(user)).get(changelist(Product))
    context = page_context(response)
    theirs = render_to_string("unfold/helpers/navigation.html", context, request=response.wsgi_request)
    ours = render_to_string("admin/sidebar_navigation.html", context, request=response.wsgi_request)
    assert classes(ours) == classes(theirs)
    assert words(ours) == words(theirs)
    assert re.findall(r'href="([^"]*)"', ours) == re.findall(r'href="([^"]*)"', theirs)
    assert 'class="cursor-pointer flex h-[38px]' in ours, "the sidebar lists items"


def sidebar_links(html: str) -> list[str]:
    """The links of the sidebar's groups (after its search box, before the user menu)."""
    apps = html.split('id="nav-sidebar-apps"', 1)[1].split("openUserLinks", 1)[0]
    return re.findall(r'href="([^"]*)"', apps)


def test_each_persons_sidebar_shows_their_own_items_one_after_another(
    client, superuser, support_user, ops_user, make_product
):
    make_product()
    seen = {}
    for user in (superuser, support_user, ops_user, superuser):
        client.force_login(user)
        for path in (changelist(Product), reverse("admin:index")):
            response = client.get(path)
            theirs = render_to_string(
                "unfold/helpers/navigation.html", page_context(response), request=response.wsgi_request
            )
            links = sidebar_links(response.content.decode())
            assert links == sidebar_links(theirs)
            seen.setdefault(user, set()).update(links)
    shops = reverse("admin:backoffice_tenant_changelist")
    assert shops in seen[superuser] and shops not in seen[support_user]
    assert seen[support_user] != seen[ops_user]


def marked(client, url) -> list[str]:
    """The links the sidebar marks as the open page's."""
    page = client.get(url).content.decode()
    return re.findall(r'<a href="([^"]*)" class="[^"]*\bactive\b', page)


def test_the_sidebar_marks_the_open_list_on_its_pages_and_the_dashboard_on_its_own(
    client_for, ops_user, make_product
):
    lamp = make_product()
    client = client_for(ops_user)
    assert marked(client, changelist(Product)) == [changelist(Product)]
    assert marked(client, reverse("admin:inventory_product_change", args=[lamp.pk])) == [changelist(Product)]
    assert marked(client, reverse("admin:index")) == [reverse("admin:index")]


def test_the_list_page_fetches_its_filter_panel_with_the_lists_query_string(
    client_for, ops_user, make_product
):
    make_product()
    params = {"is_published__exact": "1", "q": "lamp"}
    page = client_for(ops_user).get(changelist(Product), params).content.decode()
    fetch = re.search(r'hx-get="([^"]*)" hx-trigger="intersect once"', page)
    assert fetch, "the panel loads when it is shown"
    assert fetch.group(1).replace("&amp;", "&") == panel_url(Product, **params)
    assert 'type="radio"' not in page, "no filter widget on the list page itself"
    assert 'id="filter-chips"' in page, "the active filter still shows as a chip"


def test_the_filter_panel_shows_the_lists_filters_with_their_current_values(
    client_for, ops_user, make_product
):
    make_product()
    response = client_for(ops_user).get(panel_url(Product, is_published__exact="1", q="lamp"))
    assert response.status_code == 200
    panel = response.content.decode()
    checked = re.search(r'type="radio" name="is_published__exact" value="([^"]*)"[^>]* checked>', panel)
    assert checked and checked.group(1) == "1"
    assert re.search(r'<input type="hidden" name="q" value="lamp"', panel), "the search is kept on Apply"
    assert 'name="created_at_from"' in panel and 'name="category__id__exact"' in panel
    assert "Clear all filters" in panel and "Apply Filters" in panel
    assert "<html" not in panel, "a fragment, not a page"


def test_the_filter_panel_shows_counts_when_asked(client_for, ops_user, make_product):
    make_product(published=True)
    panel = client_for(ops_user).get(panel_url(Product, _facets="True")).content.decode()
    assert "Hide counts" in panel
    assert re.search(r"\(\d+\)", panel), "each choice shows its count"


def test_the_filter_panel_is_refused_to_people_who_may_not_see_the_list(client_for, roles):
    nobody = get_user_model().objects.create_user("nobody", is_staff=True)
    assert client_for(nobody).get(panel_url(Product)).status_code == 403


def test_a_filter_the_list_doesnt_have_is_a_clear_refusal(client_for, ops_user):
    response = client_for(ops_user).get(panel_url(Product, no_such_field="1"))
    assert response.status_code == 400
    assert b"don't apply" in response.content


class FormFields(HTMLParser):
    """The fields of a fetched panel as a browser sees them: inputs, selects and their options."""

    def __init__(self):
        super().__init__()
        self.inputs, self.selects, self._select = [], {}, None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "input" and "name" in attributes and "disabled" not in attributes:
            self.inputs.append(attributes)
        elif tag == "select" and "name" in attributes:
            self._select = self.selects.setdefault(attributes["name"], [])
        elif tag == "option" and self._select is not None:
            self._select.append(attributes)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def submitted(panel: str, choose: dict[str, str]) -> list[tuple[str, str]]:
    """What the panel's form sends on Apply once the radio buttons in ``choose`` are picked: every
    named field as a browser sends it (checked boxes only, a select's selected option), without the
    empty ones, which Unfold's app.js (filterForm) takes out of the form's data."""
    fields = FormFields()
    fields.feed(panel)
    sent = []
    for field in fields.inputs:
        name, kind, value = field["name"], field.get("type", "text"), field.get("value", "")
        if kind in ("radio", "checkbox"):
            picked = choose[name] == value if name in choose else "checked" in field
            if picked:
                sent.append((name, field.get("value", "on")))  # "on": a box without a value
        elif kind not in ("submit", "button", "reset"):
            sent.append((name, value))
    for name, options in fields.selects.items():
        selected = [o for o in options if "selected" in o] or options[:1]
        sent.extend((name, option.get("value", "")) for option in selected)
    return [(name, value) for name, value in sent if value != ""]


def test_applying_the_panels_filters_filters_the_list(client_for, ops_user, make_product):
    shown = make_product(name="Shown lamp", published=True)
    hidden = make_product(name="Hidden lamp", published=False)
    client = client_for(ops_user)
    page = client.get(changelist(Product), {"q": "lamp"}).content.decode()
    # The panel's form sends its fields to the list itself (GET, no other address).
    assert re.search(r'<form id="filter-form" method="get" class=', page)
    fetch = re.search(r'hx-get="([^"]*)" hx-trigger="intersect once"', page).group(1).replace("&amp;", "&")
    panel = client.get(fetch).content.decode()
    published = re.search(
        r'type="radio" name="is_published__exact" value="([^"]*)"[^>]*>\s*(?:<[^>]+>\s*)*Yes\b', panel
    )
    assert published, "the panel offers published products"
    choice = submitted(panel, {"is_published__exact": published.group(1)})
    assert ("q", "lamp") in choice, "Apply keeps the search"
    response = client.get(changelist(Product) + "?" + urlencode(choice))
    assert response.status_code == 200, choice
    rows = list(response.context["cl"].result_list)
    assert shown in rows and hidden not in rows


@pytest.mark.parametrize("agent", ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)", "Mozilla/5.0 (X11)"])
def test_the_shortcuts_dialog_is_unfolds(rf, superuser, agent):
    from pathlib import Path

    import unfold
    from django.template import engines

    request = rf.get("/admin/", HTTP_USER_AGENT=agent)
    request.user = superuser
    unfolds = (Path(unfold.__file__).parent / "templates/unfold/helpers/shortcuts.html").read_text()

    def flat(html):
        return " ".join(html.replace("> <", "><").split()).replace("> ", ">").replace(" <", "<")

    ours = render_to_string("unfold/helpers/shortcuts.html", request=request)
    assert flat(ours) == flat(engines["django"].from_string(unfolds).render(request=request))
    assert ("keyboard_command_key" in ours) == ("Macintosh" in agent)


def test_a_list_filtered_by_one_product_names_it_without_reading_every_product(
    client_for, ops_user, make_product
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.models import StockMovement

    lamp = make_product(name="Desk lamp", stock=5)
    for _ in range(3):
        make_product()
    with CaptureQueriesContext(connection) as queries:
        page = client_for(ops_user).get(changelist(StockMovement), {"product__id__exact": lamp.pk})
    assert page.status_code == 200
    chips = re.search(r'id="filter-chips".*?</div>', page.content.decode(), re.S).group(0)
    assert "Desk lamp" in chips
    product_reads = [q["sql"] for q in queries.captured_queries if 'FROM "inventory_product"' in q["sql"]]
    # Each read of products picks them by id: none lists the shop's every product (an option each).
    assert product_reads
    by_id = [
        "WHERE" in sql and '"inventory_product"."id"' in sql.split("WHERE", 1)[1] for sql in product_reads
    ]
    assert all(by_id), product_reads
